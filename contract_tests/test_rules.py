"""Every rule at its boundary, each reply predicted by the model of what the suite did.

The suite writes (uploads, sightings) at instants it sets through the clock control
(``/_mock/clock``), records them in :mod:`contract_tests.model`, and compares each reply
with the prediction: the boundary itself (an upload exactly 900 s after the last accepted
one; a log created exactly at ``end``; midnight in the server timezone), one step inside
and one step outside it (:mod:`contract_tests.boundaries`,
:mod:`contract_tests.visit_boundaries`). Against a server without the clock control the
rules that need it are listed in the report as not exercised, with the reason.
"""

from __future__ import annotations

import re

import pytest

from . import body_limit, boundaries, scoring_boundaries, visit_boundaries
from .server_clock import CouldNotProceed

#: test → the scenario it runs (the mutant tests run the same scenarios)
SCENARIOS = {
    "test_uploads_filters_and_order_at_their_boundaries": boundaries.uploads_filters_and_order,
    "test_account_throttle_and_license_size_at_their_boundaries": (
        boundaries.account_throttle_and_license_size
    ),
    "test_page_size_at_its_boundary": boundaries.page_size,
    "test_visits_at_their_boundaries": visit_boundaries.visits,
    "test_scoring_through_the_api": scoring_boundaries.anomalies_scored,
    "test_body_at_the_upload_limit": body_limit.body_at_the_limit,
}


def _run(name: str, target) -> None:
    try:
        SCENARIOS[name](target)
    except CouldNotProceed as reason:
        pytest.skip(f"could not proceed: {reason}")


def test_uploads_filters_and_order_at_their_boundaries(contract_target):
    _run("test_uploads_filters_and_order_at_their_boundaries", contract_target)


def test_account_throttle_and_license_size_at_their_boundaries(contract_target):
    _run("test_account_throttle_and_license_size_at_their_boundaries", contract_target)


def test_page_size_at_its_boundary(contract_target):
    _run("test_page_size_at_its_boundary", contract_target)


def test_visits_at_their_boundaries(contract_target):
    _run("test_visits_at_their_boundaries", contract_target)


def test_scoring_through_the_api(contract_target):
    _run("test_scoring_through_the_api", contract_target)


def test_body_at_the_upload_limit(contract_target):
    _run("test_body_at_the_upload_limit", contract_target)


def _journal(target) -> list[tuple]:
    """What the server saw and answered (the request journal)."""
    reply = target.http("GET", "/_mock/requests", token=False, params={"limit": "1000"})
    entries = reply.json()
    entries = entries.get("requests", entries) if isinstance(entries, dict) else entries
    media = re.compile(r"/media/[^\"]+")  # media names are unguessable: random by design
    return [
        (e["method"], e["path"], e["query"], e["status"], media.sub("/media/…", e["reply_body"]))
        for e in entries
    ]


def test_same_world_same_requests_and_verdicts(contract_target):
    """Determinism: from the same world the rule scenarios send the same requests and get
    the same replies, run after run (in-process: the world is restored between runs)."""
    target = contract_target
    if target.options.live:
        pytest.skip("could not proceed: in-process only (a live world moves on between runs)")
    runs = []
    for _ in range(2):
        target.refresh()
        target.http("DELETE", "/_mock/requests", token=False)
        for name in (
            "test_visits_at_their_boundaries",
            "test_scoring_through_the_api",
            "test_body_at_the_upload_limit",
        ):
            _run(name, target)
        runs.append(_journal(target))
    assert runs[0] and runs[0] == runs[1]
