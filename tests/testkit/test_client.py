"""mockserver.client.MockServerClient against a live emulator, and the per-account
rate-limit control (/_mock/accounts/<token>/rate-limit)."""

from __future__ import annotations

import time

import pytest
import requests

from mockserver.client import ControlError, MockServerClient
from mockserver.testkit.plugin import LiveServer

from ..conftest import SEED_EXAMPLE, auth
from ..images import solid

LICENSES = "/v1/vision-alert/licenses/"


@pytest.fixture(scope="module")
def live():
    with LiveServer(workers=1, seed="none") as server:
        yield server


@pytest.fixture
def control(live):
    client = MockServerClient(live.url)
    client.reset(seed="none")
    return client


def test_core_calls(live, control):
    assert control.health() == {"status": "ok"}
    demo = control.reset()
    assert [a["token"] for a in demo["accounts"]] == ["demo-token", "demo-token-parkpow-only"]
    assert control.reset(seed="none") == {"accounts": []}
    seeded = control.seed(SEED_EXAMPLE)
    assert seeded["accounts"][0]["licenses"][0]["code"] == "LIC-A"
    assert control.set_clock("2026-04-10T14:30:00Z") == {
        "now": "2026-04-10T14:30:00Z",
        "frozen": True,
    }
    assert control.advance(90)["now"] == "2026-04-10T14:31:30Z"
    assert control.clock()["frozen"] is True
    assert control.real_time()["frozen"] is False
    assert control.update_settings(processing_delay=2)["processing_delay"] == 2
    assert control.settings()["processing_delay"] == 2


def test_errors_raise_control_error(control):
    with pytest.raises(ControlError) as caught:
        control.seed({"accounts": [{"token": "has space"}]})
    assert caught.value.status == 400
    with pytest.raises(ControlError) as caught:
        control.fault(12345)
    assert caught.value.status == 404
    with pytest.raises(ValueError):
        control.add_fault("/x", status=500, drop=True)  # two actions


def test_faults_and_journal_through_the_client(live, control):
    control.seed(SEED_EXAMPLE)
    fault = control.add_fault(LICENSES, method="GET", status=503, times=1)
    assert fault["match"] == {"path": LICENSES, "method": ["GET"]}
    slow = control.add_fault("/api/*", latency_ms=[1, 2], rate=0.5, seed=3)
    assert [f["id"] for f in control.faults()] == [fault["id"], slow["id"]]
    assert requests.get(live.url + LICENSES, headers=auth("tok-a")).status_code == 503
    assert requests.get(live.url + LICENSES, headers=auth("tok-a")).status_code == 200
    assert control.fault(fault["id"])["hits"] == 1
    control.remove_fault(slow["id"])
    assert control.clear_faults() == {"deleted": 1}
    entries = control.requests(token="tok-a")
    assert [e["status"] for e in entries] == [503, 200]
    assert [e["status"] for e in control.requests(status="5xx")] == [503]
    assert control.clear_requests() == {"deleted": 2}
    assert control.requests() == []


def test_assertion_helpers_raise_assertion_error(live, control):
    control.seed(SEED_EXAMPLE)
    control.add_fault(LICENSES, status=429, headers={"Retry-After": "0.2"}, times=1)
    url, headers = live.url + LICENSES, auth("tok-a")
    assert requests.get(url, headers=headers).status_code == 429
    assert requests.get(url, headers=headers).status_code == 200  # no wait at all
    with pytest.raises(AssertionError, match="retry_after_honoured"):
        control.assert_retry_after_honoured("tok-a")
    control.clear_requests()
    control.add_fault(LICENSES, status=429, headers={"Retry-After": "0.2"}, times=1)
    assert requests.get(url, headers=headers).status_code == 429
    time.sleep(0.2)
    assert requests.get(url, headers=headers).status_code == 200
    assert control.assert_retry_after_honoured("tok-a")["checked"] == 1
    assert control.assertion("backoff_after_5xx", "tok-a", min_checked=0)["passed"] is True
    with pytest.raises(AssertionError):
        control.assert_backoff_after_5xx("tok-a")  # nothing to judge
    with pytest.raises(AssertionError):
        control.assert_followed_next_to_end("tok-a")


def test_control_token_is_sent_as_bearer():
    with LiveServer(seed="none", extra_args=["--control-token", "sesame"]) as server:
        with pytest.raises(ControlError) as caught:
            MockServerClient(server.url).clock()
        assert caught.value.status == 401
        with pytest.raises(ControlError):
            MockServerClient(server.url).faults()  # the new routes are guarded too
        assert MockServerClient(server.url, control_token="sesame").faults() == []


# -- per-account rate limit ---------------------------------------------------------------


def _jpeg() -> bytes:
    return solid((640, 480), (90, 120, 150))


def upload(url: str, serial: str, image: bytes) -> requests.Response:
    return requests.post(
        url + "/v1/vision-alert/create-log/",
        headers=auth("tok-a"),
        data={"camera_id": serial},
        files={"upload": ("frame.jpg", image, "image/jpeg")},
    )


def test_rate_limit_control_validates_and_reads_back(control):
    control.seed(SEED_EXAMPLE)
    assert control.rate_limit("tok-a") == 1
    assert control.set_rate_limit("tok-a", 5) == {"token": "tok-a", "rate_limit_per_second": 5}
    assert control.rate_limit("tok-a") == 5
    assert control.set_rate_limit("tok-a", None)["rate_limit_per_second"] is None
    for bad in ({}, {"rate_limit_per_second": 0}, {"rate_limit_per_second": "fast"}):
        with pytest.raises(ControlError) as caught:
            control.call("POST", "/accounts/tok-a/rate-limit", bad)
        assert caught.value.status == 400 and "rate_limit_per_second" in caught.value.body
    assert control.rate_limit("tok-a") is None  # rejected calls changed nothing
    with pytest.raises(ControlError) as caught:
        control.set_rate_limit("nobody", 1)
    assert caught.value.status == 404


def test_rate_limit_control_steers_the_create_log_throttle(live, control):
    control.seed(SEED_EXAMPLE)
    control.set_clock("2026-04-10T14:30:00Z")  # frozen: both uploads in the same second
    image = _jpeg()
    assert upload(live.url, "R1", image).status_code == 200
    throttled = upload(live.url, "R2", image)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    control.set_rate_limit("tok-a", None)
    assert [upload(live.url, f"R{i}", image).status_code for i in range(3, 6)] == [200] * 3
    control.set_rate_limit("tok-a", 1)
    assert upload(live.url, "R6", image).status_code == 200
    assert upload(live.url, "R7", image).status_code == 429


# -- VisionAlert scenario wrappers --------------------------------------------------------


def test_scenario_wrappers_reach_their_endpoints():
    import mockserver

    with mockserver.intercept() as emulator:
        control, serial = emulator.client, "Q2GV-ABCD-1234"
        license_id = emulator.licenses["LIC-DEMO-1"]
        assert control.camera_state(license_id, serial)["serial"] == serial
        assert control.set_thresholds(license_id, serial, {"Blur": 0.7})["own"] == {"Blur": 0.7}
        assert control.thresholds(license_id, serial)["thresholds"]["Blur"] == 0.7
        control.force_scores(license_id, serial, {"Blur": 0.9}, count=2)
        queue = control.fail_processing(license_id, serial)["queue"]
        assert [(q["fail"], q["remaining"]) for q in queue] == [(False, 2), (True, 1)]
        assert len(control.forced_scores(license_id, serial)["queue"]) == 2
        assert control.clear_forced_scores(license_id, serial)["queue"] == []
        hook = "http://127.0.0.1:9/hook"
        assert control.set_notifications(license_id, webhook_url=hook)["webhook_url"] == hook
        assert control.notifications(license_id)["webhook_url"] == hook
        assert control.alerts(license_id) == {"alerts": []}
        assert control.deliveries() == {"deliveries": []}
        assert control.outbox() == {"messages": []}
        with pytest.raises(ControlError) as caught:
            control.resolve_review(999, "normal")
        assert caught.value.status == 404
