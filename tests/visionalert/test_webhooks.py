"""Notifications: webhook delivery in the background with retries, the e-mail outbox, `sent`."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ..conftest import BOTH_BACKENDS, auth
from .va_support import START, TOKEN, advance, force, seed, upload


class Receiver:
    """A webhook endpoint on 127.0.0.1 answering the queued status codes in turn (200 once
    they run out). With ``hold``, each POST is held that many seconds (or until ``release``
    is set) before its answer; ``arrived`` is set by the first POST."""

    def __init__(self, statuses: list[int], hold: float = 0.0) -> None:
        self.statuses = list(statuses)
        self.hold = hold
        self.received: list[dict] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with receiver.lock:
                    receiver.received.append(
                        {"body": body, "content_type": self.headers.get("Content-Type")}
                    )
                receiver.arrived.set()
                if receiver.hold:
                    receiver.release.wait(receiver.hold)
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def hits(self) -> list[int]:
        """The alert id of each POST, in arrival order."""
        with self.lock:
            return [entry["body"]["id"] for entry in self.received]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _license(webhook_url=None, notify_email=None):
    return [
        {
            "code": "L-HOOK",
            "size": 5,
            "webhook_url": webhook_url,
            "notify_email": notify_email,
            "cameras": [{"serial": "A"}],
        }
    ]


def _raise_alert(client, lic) -> None:
    """Camera A becomes anomalous; the alert is emitted 15 min after processing."""
    force(client, lic, "A", scores={"Blur": 0.9})
    upload(client, "A")
    advance(client, 5 + 900)


def _deliveries(client, alert_id=None):
    query = f"?alert_id={alert_id}" if alert_id else ""
    return client.get(f"/_mock/visionalert/deliveries{query}").json["deliveries"]


def _public_alerts(client, lic):
    return client.get(f"/v1/vision-alert/{lic}/alerts/", headers=auth(TOKEN)).json["results"]


@pytest.fixture
def ticking(make_app):
    """An app whose background tick runs (every 50 ms), as a served emulator's does."""
    app = make_app(tick_seconds=0.05)
    app.extensions["mockserver"].start_background()
    return app.test_client()


def test_webhook_retried_after_500_then_sent(ticking):
    client = ticking
    with Receiver([500, 204]) as receiver:
        (lic,) = seed(client, licenses=_license(webhook_url=receiver.url))
        _raise_alert(client, lic)
        first = _wait_for(lambda: _deliveries(client))
        assert [(d["attempt"], d["ok"], d["status_code"]) for d in first] == [(1, False, 500)]
        assert _public_alerts(client, lic)[0]["sent"] is False
        advance(client, 29)
        time.sleep(0.3)
        assert len(_deliveries(client)) == 1  # the retry waits for the backoff
        advance(client, 1)
        _wait_for(lambda: len(_deliveries(client)) == 2)
        (alert,) = _public_alerts(client, lic)
        assert alert["sent"] is True
        second = _deliveries(client)[0]
        assert (second["attempt"], second["ok"], second["status_code"]) == (2, True, 204)
        assert second["target"] == receiver.url and second["channel"] == "webhook"
        assert len(receiver.received) == 2
        body = receiver.received[-1]["body"]
        assert receiver.received[-1]["content_type"] == "application/json"
        assert body["id"] == alert["id"] and body["license"] == "L-HOOK"
        assert body["created"] == alert["created"]
        (entry,) = body["cameras"]
        assert entry["serial"] == "A" and entry["status"] == "Anomaly"
        assert entry["anomalies"] == {"Blur": 0.9}
        assert entry["snapshot"].startswith("http://localhost/media/camera_snapshot/")
    advance(client, 3600)  # the camera also goes offline: a second alert (receiver gone)
    _wait_for(lambda: len(_deliveries(client)) >= 3)
    time.sleep(0.3)
    assert len(_deliveries(client, alert["id"])) == 2  # the first alert: delivered once


def test_webhook_gives_up_after_the_retries(ticking):
    client = ticking
    client.post("/_mock/settings", json={"webhook_retries": 2, "webhook_backoff": 10})
    with Receiver([500, 500, 500, 500]) as receiver:
        (lic,) = seed(client, licenses=_license(webhook_url=receiver.url))
        _raise_alert(client, lic)
        _wait_for(lambda: len(_deliveries(client)) == 1)
        advance(client, 10)
        _wait_for(lambda: len(_deliveries(client)) == 2)
        advance(client, 20)
        _wait_for(lambda: len(_deliveries(client)) == 3)
        first_alert = _deliveries(client)[0]["alert_id"]
        advance(client, 1000)
        time.sleep(0.3)
        assert [d["attempt"] for d in _deliveries(client, first_alert)] == [3, 2, 1]
        assert _public_alerts(client, lic)[0]["sent"] is False


def test_unreachable_webhook_is_recorded(ticking):
    client = ticking
    with Receiver([]) as receiver:
        closed = receiver.url
    (lic,) = seed(client, licenses=_license(webhook_url=closed))
    _raise_alert(client, lic)
    (attempt,) = _wait_for(lambda: _deliveries(client))
    assert attempt["ok"] is False and attempt["status_code"] is None
    assert attempt["error"]


def test_webhook_never_runs_on_a_request_path(client):
    with Receiver([]) as receiver:
        (lic,) = seed(client, licenses=_license(webhook_url=receiver.url))
        _raise_alert(client, lic)
        advance(client, 3600)
        assert _deliveries(client) == [] and receiver.received == []
        assert _public_alerts(client, lic)[0]["sent"] is False


def test_email_outbox_marks_sent(client):
    (lic,) = seed(client, licenses=_license(notify_email="ops@example.com"))
    _raise_alert(client, lic)
    (alert,) = _public_alerts(client, lic)
    assert alert["sent"] is True
    (message,) = client.get("/_mock/visionalert/outbox").json["messages"]
    assert message["to"] == "ops@example.com" and message["alert_id"] == alert["id"]
    assert message["body"]["cameras"][0]["serial"] == "A"
    (delivery,) = _deliveries(client)
    assert delivery["channel"] == "email" and delivery["ok"] is True


def test_no_channel_stays_unsent(client):
    (lic,) = seed(client, licenses=_license())
    _raise_alert(client, lic)
    assert _public_alerts(client, lic)[0]["sent"] is False
    assert _deliveries(client) == []
    assert client.get("/_mock/visionalert/outbox").json["messages"] == []


def test_notification_settings_through_the_control_plane(client):
    (lic,) = seed(client, licenses=_license())
    path = f"/_mock/visionalert/licenses/{lic}/notifications"
    assert client.get(path).json == {
        "license_id": lic,
        "license": "L-HOOK",
        "webhook_url": None,
        "notify_email": None,
    }
    reply = client.patch(path, json={"notify_email": "a@example.com"})
    assert reply.status_code == 200 and reply.json["notify_email"] == "a@example.com"
    for body in ({"webhook_url": "ftp://x"}, {"notify_email": "nope"}, {"other": 1}):
        assert client.post(path, json=body).status_code == 400, body
    assert client.get("/_mock/visionalert/licenses/999/notifications").status_code == 404
    _raise_alert(client, lic)
    assert _public_alerts(client, lic)[0]["sent"] is True


def test_injected_webhook_faults_then_real_delivery(ticking):
    """A webhook fault stands in for the receiver: 503 once, a dropped connection once."""
    client = ticking
    client.post("/_mock/settings", json={"webhook_backoff": 10})
    for action in ({"type": "status", "status": 503}, "drop"):
        reply = client.post(
            "/_mock/faults",
            json={"match": {"target": "webhook", "path": "/hook"}, "times": 1, "action": action},
        )
        assert reply.status_code == 201, reply.json
    with Receiver([]) as receiver:
        (lic,) = seed(client, licenses=_license(webhook_url=receiver.url))
        _raise_alert(client, lic)
        (first,) = _wait_for(lambda: _deliveries(client))
        assert (first["ok"], first["status_code"]) == (False, 503)
        advance(client, 10)
        second = _wait_for(lambda: len(_deliveries(client)) == 2 and _deliveries(client)[0])
        assert second["ok"] is False and "dropped" in second["error"]
        assert receiver.received == []  # neither attempt reached the receiver
        advance(client, 20)
        third = _wait_for(lambda: len(_deliveries(client)) == 3 and _deliveries(client)[0])
        assert (third["ok"], third["status_code"]) == (True, 200)
        assert len(receiver.received) == 1
        assert _public_alerts(client, lic)[0]["sent"] is True


@BOTH_BACKENDS
def test_a_tick_reading_taken_before_the_clock_was_set_back_runs_nothing_early(make_app):
    """A tick reads the clock, then runs what is due by that reading, which may take a
    while on a loaded machine: a clock set back meanwhile (a seed, ``set``) must not make
    it run the emulated future, here the retry due only after the backoff."""
    app = make_app()
    emulator = app.extensions["mockserver"]
    client = app.test_client()
    client.post("/_mock/settings", json={"webhook_backoff": 10})
    with Receiver([500]) as receiver:
        (lic,) = seed(client, licenses=_license(webhook_url=receiver.url))
        advance(client, 960)
        reading = emulator.now_us()  # the tick's reading, before the clock is set back
        client.post("/_mock/clock", json={"set": START})
        _raise_alert(client, lic)
        tick = lambda: emulator.duework.run_due(reading, background=True)  # noqa: E731
        assert _finishes_within(30, tick)[0], "the tick kept running jobs not yet due"
        assert [(d["attempt"], d["status_code"]) for d in _deliveries(client)] == [(1, 500)]
        assert len(receiver.received) == 1


def test_webhook_fault_forms_are_validated(client):
    bad = [
        {"match": {"target": "webhook"}, "action": "truncate"},
        {"match": {"target": "webhook", "method": "GET"}, "action": "drop"},
        {"match": {"target": "elsewhere"}, "action": "drop"},
    ]
    for body in bad:
        assert client.post("/_mock/faults", json=body).status_code == 400, body
    assert client.get("/_mock/faults").json["faults"] == []


def _finishes_within(seconds: float, call) -> tuple[bool, object]:
    """Run ``call`` in a thread: whether it returned within ``seconds``, and its result."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), (result[0] if result else None)


@BOTH_BACKENDS
def test_a_webhook_in_flight_holds_no_transaction(make_app):
    """While the receiver keeps a delivery's POST waiting, writes go through at once: an
    upload, a clock move, a reset (the POST is sent outside any store transaction)."""
    app = make_app(webhook_timeout=30)
    emulator = app.extensions["mockserver"]
    client = app.test_client()
    with Receiver([], hold=60.0) as receiver:
        (lic,) = seed(client, licenses=_license(webhook_url=receiver.url))
        _raise_alert(client, lic)
        tick = threading.Thread(
            target=lambda: emulator.duework.run_due(emulator.now_us(), background=True)
        )
        tick.start()
        assert receiver.arrived.wait(10), "the delivery never reached the receiver"
        writes = {
            "upload": lambda: upload(app.test_client(), "B").status_code,
            "clock": lambda: (
                app.test_client().post("/_mock/clock", json={"advance": 60}).status_code
            ),
            "reset": lambda: app.test_client().post("/_mock/reset?seed=none").status_code,
        }
        for name, write in writes.items():
            done, status = _finishes_within(8, write)
            assert done, f"{name} waited behind the webhook POST in flight"
            assert status == 200, (name, status)
        receiver.release.set()
        tick.join(30)
        assert not tick.is_alive()
    assert receiver.hits == [receiver.hits[0]]  # sent once; its record went with the reset


@BOTH_BACKENDS
def test_two_apps_on_one_world_send_each_attempt_exactly_once(
    make_app, backend, database_url, tmp_path, monkeypatch
):
    """Two emulators (two hosts) share one store and both run due work on their ticks;
    each POST is slow (longer than a claim lasts unless it is renewed while in flight).
    The receiver gets every attempt once: 500, 500, then 204."""
    from mockserver.core import duework

    monkeypatch.setattr(duework, "LEASE_SECONDS", 2.0)
    monkeypatch.setattr(duework, "CLAIM_SECONDS", 2.0, raising=False)
    world = {"data_dir": str(tmp_path)} if backend == "sqlite" else {"database_url": database_url}
    first, second = (make_app(tick_seconds=0.02, **world) for _ in range(2))
    client = first.test_client()
    with Receiver([500, 500, 204], hold=3.0) as receiver:
        client.post("/_mock/settings", json={"webhook_retries": 2, "webhook_backoff": 10})
        (lic,) = seed(client, licenses=_license(webhook_url=receiver.url))
        for app in (first, second):
            app.extensions["mockserver"].start_background()
        _raise_alert(client, lic)
        for attempt, backoff in ((1, 10), (2, 20), (3, None)):
            _wait_for(
                lambda n=attempt: len(_deliveries(client)) >= n or len(receiver.hits) > n,
                timeout=30,
            )
            assert len(receiver.hits) == attempt, receiver.hits
            if backoff:
                advance(second.test_client(), backoff)
        time.sleep(1.0)  # a second sender, if there were one, would have arrived by now
        records = _deliveries(client)
        assert [(d["attempt"], d["status_code"]) for d in records] == [(3, 204), (2, 500), (1, 500)]
        (alert,) = _public_alerts(client, lic)
        assert receiver.hits == [alert["id"]] * 3
        assert alert["sent"] is True
