"""VisionAlert's parity rules: the reply fields a recording of the live service can only
agree with by form (``core/parity_rules.py``)."""

from __future__ import annotations

from ..core.parity_rules import ParityRules

RULES = ParityRules(
    ids=("*.id",),
    timestamps=("*.created", "*.modified", "*.expiration"),
    urls=("*.snapshot", "*.reference_image"),
    links=("$.next", "$.previous"),
    # the vendor's models score images its own way; which anomalies crossed is compared
    volatile=("*.anomalies.*",),
)
