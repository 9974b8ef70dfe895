"""Client-behaviour assertions (/_mock/assertions/...): pass for a well-behaved client,
fail for a badly behaved one. Waits are real (the assertions judge real time), so they
are kept to tenths of a second."""

from __future__ import annotations

import time

import pytest

from ..conftest import auth

LICENSES = "/v1/vision-alert/licenses/"
DEMO = auth("demo-token")


@pytest.fixture
def demo(make_app):
    return make_app(seed="demo").test_client()


def check(client, name: str, **params) -> dict:
    reply = client.get(f"/_mock/assertions/{name}", query_string=params)
    assert reply.status_code == 200, reply.json
    return reply.json


def fault(client, status: int, times: int, headers: dict | None = None) -> None:
    action = {"type": "status", "status": status, "headers": headers or {}}
    body = {"match": {"path": LICENSES}, "times": times, "action": action}
    assert client.post("/_mock/faults", json=body).status_code == 201


def get_with_waits(client, waits: list[float], token: dict = DEMO) -> int:
    """A client that retries a failed GET after each given wait (None: honour Retry-After)."""
    reply = client.get(LICENSES, headers=token)
    for wait in waits:
        if reply.status_code < 429:
            break
        time.sleep(float(reply.headers.get("Retry-After", 0)) if wait is None else wait)
        reply = client.get(LICENSES, headers=token)
    return reply.status_code


# -- retry_after_honoured -----------------------------------------------------------------


def test_retry_after_honoured_by_a_patient_client(demo):
    fault(demo, 429, times=2, headers={"Retry-After": "0.3"})
    assert get_with_waits(demo, [None, None, None]) == 200
    result = check(demo, "retry_after_honoured", token="demo-token")
    assert result["passed"] is True and result["checked"] == 2 and result["violations"] == 0
    assert all(item["waited"] >= 0.25 for item in result["details"])


def test_retry_after_ignored_by_an_impatient_client(demo):
    fault(demo, 429, times=2, headers={"Retry-After": "0.3"})
    assert get_with_waits(demo, [0, 0, 0]) == 200
    result = check(demo, "retry_after_honoured", token="demo-token")
    assert result["passed"] is False and result["violations"] == 2
    assert result["details"][0]["waited"] < 0.3


def test_retry_after_needs_something_to_judge(demo):
    assert get_with_waits(demo, []) == 200
    result = check(demo, "retry_after_honoured", token="demo-token")
    assert result["passed"] is False and result["checked"] == 0
    assert check(demo, "retry_after_honoured", token="demo-token", min_checked=0)["passed"]


def test_retry_after_judges_only_the_given_client(demo):
    fault(demo, 429, times=1, headers={"Retry-After": "0.3"})
    assert get_with_waits(demo, [0]) == 200  # impatient demo-token
    other = auth("demo-token-parkpow-only")
    demo.get(LICENSES, headers=other).get_data()
    assert check(demo, "retry_after_honoured", token="demo-token")["passed"] is False
    result = check(demo, "retry_after_honoured", token="demo-token-parkpow-only", min_checked=0)
    assert result["passed"] is True and result["checked"] == 0


# -- backoff_after_5xx --------------------------------------------------------------------


def test_backoff_passes_for_growing_waits(demo):
    fault(demo, 503, times=3)
    assert get_with_waits(demo, [0.1, 0.2, 0.4]) == 200
    result = check(demo, "backoff_after_5xx", token="demo-token")
    assert result["passed"] is True and result["checked"] == 3
    assert check(demo, "backoff_after_5xx", token="demo-token", growth=1.5)["passed"]


def test_backoff_fails_for_immediate_retries(demo):
    fault(demo, 500, times=3)
    assert get_with_waits(demo, [0, 0, 0]) == 200
    result = check(demo, "backoff_after_5xx", token="demo-token", min_seconds=0.3)
    assert result["passed"] is False and result["violations"] == 3


def test_backoff_fails_when_waits_shrink(demo):
    fault(demo, 502, times=2)
    assert get_with_waits(demo, [0.35, 0.12]) == 200
    result = check(demo, "backoff_after_5xx", token="demo-token")
    assert result["passed"] is False and result["violations"] == 1
    assert check(demo, "backoff_after_5xx", token="demo-token", growth=0)["passed"]


# -- followed_next_to_end -----------------------------------------------------------------


def walk(client, url: str, pages: int | None = None) -> int:
    seen = 0
    while url and (pages is None or seen < pages):
        page = client.get(url, headers=DEMO).json
        seen += 1
        url = page["next"]
    return seen


def test_followed_next_to_end_passes_for_a_full_walk(demo):
    pages = walk(demo, "/v1/vision-alert/1/cameras/?page_size=1")
    assert pages == 2
    result = check(demo, "followed_next_to_end", token="demo-token")
    assert result["passed"] is True and result["checked"] == 2


def test_followed_next_to_end_fails_for_a_client_that_stops_early(demo):
    walk(demo, "/v1/vision-alert/1/cameras/?page_size=1", pages=1)
    result = check(demo, "followed_next_to_end", token="demo-token")
    assert result["passed"] is False and result["violations"] == 1
    assert "cursor=" in result["details"][0]["next"]


def test_unknown_assertion_and_bad_parameters(demo):
    reply = demo.get("/_mock/assertions/was_polite")
    assert reply.status_code == 404 and "retry_after_honoured" in reply.json["detail"]
    reply = demo.get("/_mock/assertions/backoff_after_5xx", query_string={"growth": "fast"})
    assert reply.status_code == 400 and "growth" in reply.json
    names = [a["name"] for a in demo.get("/_mock/assertions").json["assertions"]]
    assert names == ["retry_after_honoured", "backoff_after_5xx", "followed_next_to_end"]
