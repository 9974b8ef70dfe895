"""Every operation of specs/parkpow.yaml, positive and negative data, every check."""

from __future__ import annotations

from .suite import hypothesis_settings, load, run_case

schema = load("parkpow")


@schema.parametrize()
@hypothesis_settings()
def test_parkpow(case, contract_target):
    run_case(case, contract_target, "parkpow")
