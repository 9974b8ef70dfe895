"""Every paginated list walked forward to the end, back through ``previous``, and compared
with one big page (see :mod:`contract_tests.walks`), in-process and against live servers.

Where the list has fewer than two rows and writes are allowed, the suite makes the rows
(create-log registers a camera and, once processed, its log; a ParkPow Stream webhook of a
fresh plate opens a visit). What the target cannot be
made to show (two logs of one camera take two uploads 15 minutes apart; alerts come from
anomalies) is reported as "could not proceed" and its checks as not exercised.
"""

from __future__ import annotations

import time

import pytest

from . import linkwalk, walks
from .suite import send

LOG_WAIT_SECONDS = 20.0  # create-log: "the analysis is asynchronous"


def _license(target) -> int:
    if target.facts.license_id is None:
        pytest.skip("could not proceed: the token sees no VisionAlert license")
    return target.facts.license_id


def _grower(target, walk: walks.Walk, needs_processing: bool):
    if not target.options.writes_allowed:
        return None

    def grow(rows: int) -> None:
        for _ in range(2 - rows):
            target.upload_camera("contract-walk")
        if not needs_processing:
            return
        deadline = time.monotonic() + LOG_WAIT_SECONDS
        while time.monotonic() < deadline:
            if len(walks.one_big_page(target, walk)) >= 2:
                return
            if target.app is not None:
                target.http("POST", "/_mock/clock", json={"advance": 3600})  # in-process only
            else:
                time.sleep(1)

    return grow


def _camera_with_most_logs(target, license_id: int) -> str:
    logs = walks.one_big_page(target, walks.Walk("listLicenseLogs", {"license_id": license_id}))
    counts: dict[str, int] = {}
    for log in logs:
        counts[log["camera_serial"]] = counts.get(log["camera_serial"], 0) + 1
    if not counts:
        raise walks.CouldNotProceed("the license has no logs, so no camera has a log list")
    return max(sorted(counts), key=lambda serial: counts[serial])


@pytest.fixture(scope="module", autouse=True)
def _declared():
    walks.declare()


@pytest.mark.rules("page.walk", "page.order")
@pytest.mark.parametrize(
    "operation_id", ["listCameras", "listLicenseLogs", "listCameraLogs", "listAlerts"]
)
def test_page_walk(contract_target, operation_id):
    """Forward to the end, back to the start, next/previous symmetric, union = one big page."""
    target = contract_target
    license_id = _license(target)
    path = {"license_id": license_id}
    try:
        grow = None
        if operation_id == "listCameraLogs":
            path["serial"] = _camera_with_most_logs(target, license_id)
        walk = walks.Walk(operation_id, path)
        if operation_id in ("listCameras", "listLicenseLogs"):
            grow = _grower(target, walk, needs_processing=operation_id == "listLicenseLogs")
        walks.walk_list(target, walk, grow)
    except walks.CouldNotProceed as reason:
        pytest.skip(f"could not proceed: {reason}")


@pytest.mark.rules("pp.live_paging")
def test_visit_list_page_walk(contract_target):
    """ParkPow's live visit-list, paged by number: the same walk, newest ``start_date`` first."""
    target = contract_target
    walk = walks.Walk(
        "visitList",
        {},
        query={"start": "1971-01-01"},  # every visit, not only the last 24 hours
        spec="parkpow",
        order_field="start_date",
        big_page="1000",  # the live page's maximum
    )

    def grow(rows: int) -> None:
        for _ in range(2 - rows):
            body = linkwalk.webhook_body(target)
            reply = send(
                target, "parkpow", "webhookReceiver", body=body, media_type="application/json"
            )
            if reply.status_code == 429:
                target.wait_out(reply)
                send(target, "parkpow", "webhookReceiver", body=body, media_type="application/json")

    try:
        walks.walk_list(target, walk, grow if target.options.writes_allowed else None)
    except walks.CouldNotProceed as reason:
        pytest.skip(f"could not proceed: {reason}")
