"""ParkPow's parity rules: the reply fields a recording of the live service can only
agree with by form (``core/parity_rules.py``)."""

from __future__ import annotations

from ..core.parity_rules import ParityRules

RULES = ParityRules(
    ids=("*.id", "*_id", "*.org"),
    timestamps=("*.start_date", "*.end_date", "*.last_spotted", "*.created"),
    urls=("*.start_img", "*.end_img"),
    links=("$.next", "$.previous"),
    # the estimated count of the live page-numbered lists is an estimate
    volatile=("$.estimated_count",),
)
