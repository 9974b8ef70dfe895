"""Every operation of specs/visionalert.yaml, positive and negative data, every check."""

from __future__ import annotations

from .suite import hypothesis_settings, load, run_case

schema = load("visionalert")


@schema.parametrize()
@hypothesis_settings()
def test_visionalert(case, contract_target):
    run_case(case, contract_target, "visionalert")
