"""Fault injection (/_mock/faults): every action, budgets, matching, sharing across workers."""

from __future__ import annotations

import time

import pytest
import requests

from mockserver.client import MockServerClient
from mockserver.testkit.plugin import LiveServer

from ..conftest import BOTH_BACKENDS, auth

pytestmark = BOTH_BACKENDS

LICENSES = "/v1/vision-alert/licenses/"
PARKING = "/api/v1/parking-list/"
DEMO = auth("demo-token")


@pytest.fixture
def demo(make_app):
    return make_app(seed="demo").test_client()


@pytest.fixture(scope="module")
def live():
    """Two workers sharing one store: faults must behave the same whichever one answers."""
    with LiveServer(workers=2, seed="demo") as server:
        yield server


@pytest.fixture
def control(live):
    client = MockServerClient(live.url)
    client.reset()
    return client


def add(client, body: dict) -> dict:
    reply = client.post("/_mock/faults", json=body)
    assert reply.status_code == 201, reply.json
    return reply.json


# -- the spec -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": {"type": "explode"}}, "action.type"),
        ({"action": {"type": "status", "status": 99}}, "action.status"),
        ({"action": {"type": "latency", "ms": [300, 100]}}, "action.ms"),
        ({"action": {"type": "latency", "ms": -1}}, "action.ms"),
        ({"action": "drop", "times": 0}, "times"),
        ({"action": "drop", "rate": 1.5}, "rate"),
        ({"action": "drop", "match": {"method": "FETCH"}}, "match.method"),
        ({"action": "drop", "match": {"path_regex": "("}}, "match.path_regex"),
        ({"action": "drop", "match": {"path": "no-slash"}}, "match.path"),
        ({"action": "drop", "when": "now"}, "when"),
    ],
)
def test_invalid_fault_is_rejected_and_changes_nothing(demo, body, field):
    reply = demo.post("/_mock/faults", json=body)
    assert reply.status_code == 400
    assert field in reply.json
    assert demo.get("/_mock/faults").json == {"faults": []}


def test_list_get_delete_one_and_clear(demo):
    first = add(demo, {"match": {"path": LICENSES}, "action": "drop"})
    second = add(demo, {"match": {"path": PARKING}, "action": "malformed", "times": 2})
    listed = demo.get("/_mock/faults").json["faults"]
    assert [f["id"] for f in listed] == [first["id"], second["id"]]
    assert listed[1]["remaining"] == 2 and listed[1]["hits"] == 0 and listed[1]["active"]
    assert demo.get(f"/_mock/faults/{second['id']}").json["action"] == {"type": "malformed"}
    assert demo.delete(f"/_mock/faults/{first['id']}").json == {"deleted": 1}
    assert demo.delete(f"/_mock/faults/{first['id']}").status_code == 404
    assert demo.get(f"/_mock/faults/{first['id']}").status_code == 404
    assert demo.delete("/_mock/faults").json == {"deleted": 1}
    assert demo.get("/_mock/faults").json == {"faults": []}


# -- actions ------------------------------------------------------------------------------


def test_status_429_with_retry_after_for_the_next_n_requests(demo):
    fault = add(
        demo,
        {
            "match": {"path": LICENSES, "method": "GET"},
            "times": 2,
            "action": {"type": "status", "status": 429, "headers": {"Retry-After": "7"}},
        },
    )
    replies = [demo.get(LICENSES, headers=DEMO) for _ in range(3)]
    assert [r.status_code for r in replies] == [429, 429, 200]
    assert replies[0].headers["Retry-After"] == "7"
    assert replies[0].json == {"detail": "Request was throttled."}
    state = demo.get(f"/_mock/faults/{fault['id']}").json
    assert state["hits"] == 2 and state["remaining"] == 0 and not state["active"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_status_5xx_with_custom_body_and_headers(demo, status):
    add(
        demo,
        {
            "match": {"path": "/api/v1/*"},
            "action": {"type": "status", "status": status, "body": {"oops": True}},
            "times": 1,
        },
    )
    reply = demo.get(PARKING, headers=DEMO)
    assert reply.status_code == status and reply.json == {"oops": True}
    assert demo.get(PARKING, headers=DEMO).status_code == 200


def test_429_always_carries_retry_after(demo):
    add(demo, {"match": {"path": LICENSES}, "action": {"type": "status", "status": 429}})
    reply = demo.get(LICENSES, headers=DEMO)
    assert reply.status_code == 429 and reply.headers["Retry-After"] == "1"


def test_method_and_token_narrow_the_match(demo):
    add(
        demo,
        {
            "match": {"path": LICENSES, "method": "POST", "token": "demo-token"},
            "action": {"type": "status", "status": 503},
        },
    )
    assert demo.get(LICENSES, headers=DEMO).status_code == 200  # GET is not matched
    add(
        demo,
        {
            "match": {"path": LICENSES, "token": "someone-else"},
            "action": {"type": "status", "status": 503},
        },
    )
    assert demo.get(LICENSES, headers=DEMO).status_code == 200  # another client's fault
    add(demo, {"match": {"path_regex": r"^/v1/.*/licenses"}, "action": "malformed"})
    assert demo.get(LICENSES.rstrip("/"), headers=DEMO).data.startswith(b"[")
    with pytest.raises(ValueError):
        demo.get(LICENSES, headers=DEMO).get_json(force=True)


def test_glob_ignores_the_trailing_slash_and_never_matches_the_control_plane(demo):
    add(demo, {"match": {"path": "*"}, "action": {"type": "status", "status": 500}})
    assert demo.get(PARKING.rstrip("/"), headers=DEMO).status_code == 500
    assert demo.get(PARKING, headers=DEMO).status_code == 500
    assert demo.get("/_mock/health").json == {"status": "ok"}
    assert demo.get("/_mock/faults").status_code == 200


def test_rate_is_seeded_and_reproducible(make_app):
    def pattern() -> list[int]:
        client = make_app(seed="demo").test_client()
        add(
            client,
            {
                "match": {"path": LICENSES},
                "rate": 0.3,
                "seed": 42,
                "action": {"type": "status", "status": 503},
            },
        )
        return [client.get(LICENSES, headers=DEMO).status_code for _ in range(60)]

    first, second = pattern(), pattern()
    assert first == second
    failures = first.count(503)
    assert 8 <= failures <= 30, failures  # about 30 % of 60


def test_rate_with_times_caps_the_hits(demo):
    fault = add(
        demo,
        {"match": {"path": LICENSES}, "rate": 0.5, "seed": 7, "times": 3, "action": "malformed"},
    )
    for _ in range(40):
        demo.get(LICENSES, headers=DEMO).get_data()
    state = demo.get(f"/_mock/faults/{fault['id']}").json
    assert state["hits"] == 3 and state["remaining"] == 0
    assert state["seen"] > 3


def test_latency_fixed_and_range(demo):
    add(demo, {"match": {"path": LICENSES}, "times": 1, "action": {"type": "latency", "ms": 150}})
    began = time.perf_counter()
    reply = demo.get(LICENSES, headers=DEMO)
    assert reply.status_code == 200 and reply.json[0]["code"] == "LIC-DEMO-1"
    assert time.perf_counter() - began >= 0.15
    add(
        demo,
        {"match": {"path": PARKING}, "times": 3, "action": {"type": "latency", "ms": [60, 90]}},
    )
    for _ in range(3):
        began = time.perf_counter()
        assert demo.get(PARKING, headers=DEMO).status_code == 200
        assert time.perf_counter() - began >= 0.06


def test_malformed_body_is_invalid_json_with_200(demo):
    add(demo, {"match": {"path": "/api/*", "method": "GET"}, "times": 1, "action": "malformed"})
    reply = demo.get(PARKING, headers=DEMO)
    assert reply.status_code == 200 and reply.mimetype == "application/json"
    with pytest.raises(ValueError):
        reply.get_json(force=True)


def test_control_token_guards_the_fault_routes(make_app):
    client = make_app(control_token="sesame").test_client()
    assert client.get("/_mock/faults").status_code == 401
    assert client.post("/_mock/faults", json={"action": "drop"}).status_code == 401
    good = {"Authorization": "Bearer sesame"}
    assert client.get("/_mock/faults", headers=good).status_code == 200


# -- a real client over a real socket -----------------------------------------------------


def test_drop_is_a_connection_error_for_requests(live, control):
    control.add_fault(LICENSES, drop=True, times=1)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.get(live.url + LICENSES, headers=DEMO, timeout=10)
    assert requests.get(live.url + LICENSES, headers=DEMO, timeout=10).status_code == 200
    # ids follow write order, which may differ from arrival order: find it by its fault
    entries = control.requests(path=LICENSES)
    (dropped,) = [entry for entry in entries if entry["fault_id"] is not None]
    assert dropped["status"] == 0 and dropped["fault_id"] == control.faults()[0]["id"]
    assert sorted(entry["status"] for entry in entries) == [0, 200]


def test_truncated_body_is_shorter_than_its_content_length(live, control):
    control.add_fault(PARKING, truncate=True, times=2)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.get(live.url + PARKING, headers=DEMO, timeout=10)
    reply = requests.get(live.url + PARKING, headers=DEMO, stream=True, timeout=10)
    promised = int(reply.headers["Content-Length"])
    received = b""
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        for chunk in reply.iter_content(64):
            received += chunk
    assert reply.status_code == 200 and len(received) < promised
    assert requests.get(live.url + PARKING, headers=DEMO, timeout=10).json()


def test_malformed_over_the_wire(live, control):
    control.add_fault(LICENSES, malformed=True, times=1)
    reply = requests.get(live.url + LICENSES, headers=DEMO, timeout=10)
    assert reply.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        reply.json()


def test_times_is_consumed_exactly_once_across_workers(live, control):
    fault = control.add_fault(LICENSES, status=503, times=3)
    # a fresh connection per request spreads them over both workers
    codes = [requests.get(live.url + LICENSES, headers=DEMO).status_code for _ in range(12)]
    assert codes.count(503) == 3 and codes[:3] == [503, 503, 503]
    assert control.fault(fault["id"])["hits"] == 3


def test_every_worker_sees_a_new_and_a_removed_fault_at_once(live, control):
    for _ in range(6):  # warm both workers' caches with "no faults"
        assert requests.get(live.url + LICENSES, headers=DEMO).status_code == 200
    fault = control.add_fault(LICENSES, status=502)
    assert {requests.get(live.url + LICENSES, headers=DEMO).status_code for _ in range(8)} == {502}
    control.remove_fault(fault["id"])
    assert {requests.get(live.url + LICENSES, headers=DEMO).status_code for _ in range(8)} == {200}
    control.add_fault(LICENSES, status=500)
    control.reset()  # a reset empties the fault table for every worker too
    assert {requests.get(live.url + LICENSES, headers=DEMO).status_code for _ in range(8)} == {200}
