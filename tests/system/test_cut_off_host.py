"""One host cut off from the database, Jepsen-style: cut the link, heal it, check the history.

Host A runs in a network namespace of its own and reaches PostgreSQL over a veth pair
through a relay this test controls (``relay.py``: latency, loss, a cut; the kernel here may
lack ``netem``); host B, in the test's own namespace, reaches the same database directly.

* 200 ms latency and 5 % loss: A keeps serving, slower, with no 5xx, and one camera's
  upload window stays exact across both hosts;
* the link cut: A answers 503 within its ``db_timeout`` while B serves the same world;
* the link healed: A serves again by itself; still one accepted upload per window, and
  each webhook attempt reached its receiver once.

Namespaces need root (CI runs as root): elsewhere the test is skipped with a message,
except under ``CI=true``, where it must run.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from mockserver.core.outages import UNAVAILABLE_TEXT
from mockserver.testkit.plugin import free_port

from ..control.test_control_hardening import jpeg as hook_jpeg
from ..control.test_control_hardening import raise_alert
from ..control.test_control_hardening import seed as hook_seed
from .relay import Relay
from .test_two_hosts import START, start_hosts

TOKEN = {"Authorization": "Token tok-hard"}
DB_TIMEOUT = 2.0
CREATE_LOG = "/v1/vision-alert/create-log/"
SETTINGS = {"MOCKSERVER_DB_TIMEOUT": str(DB_TIMEOUT), "MOCKSERVER_TICK_SECONDS": "0.2"}

pytestmark = pytest.mark.timeout(120)


def _unless_ci(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: this test must run)", pytrace=False)
    pytest.skip(reason)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def namespace():
    """A network namespace joined to ours by a veth pair: (name, our address, its address)."""
    if os.geteuid() != 0:
        _unless_ci("the cut-off-host test creates a network namespace: run it as root (CI does)")
    if shutil.which("ip") is None:
        _unless_ci("the cut-off-host test needs iproute2 (apt-get install iproute2)")
    tag = os.getpid() % 60000
    name, ours, theirs = f"msf{tag}", f"msf{tag}a", f"msf{tag}b"
    # a /30 of 198.18.0.0/15, the range set aside for network tests (RFC 2544)
    network = f"198.{18 + (tag >> 14) % 2}.{(tag >> 6) % 256}"
    here, there = f"{network}.{tag % 64 * 4 + 1}", f"{network}.{tag % 64 * 4 + 2}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError as error:
        _unless_ci(f"cannot create a network namespace ({error.stderr.strip()})")
    try:
        _ip("link", "add", ours, "type", "veth", "peer", "name", theirs)
        _ip("link", "set", theirs, "netns", name)
        _ip("addr", "add", f"{here}/30", "dev", ours)
        _ip("link", "set", ours, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{there}/30", "dev", theirs)
        _ip("netns", "exec", name, "ip", "link", "set", theirs, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield name, here, there
    finally:
        subprocess.run(["ip", "link", "del", ours], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


class Receiver:
    """A webhook receiver on ``address`` counting each alert's POSTs (answered 204)."""

    def __init__(self, address: str) -> None:
        self.hits: list[int] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                hits.append(json.loads(self.rfile.read(length))["id"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.url = f"http://{address}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class NamespacedHost:
    """``mockserver serve`` inside a namespace, on its veth address."""

    def __init__(self, namespace: str, address: str, database_url: str) -> None:
        self.url = f"http://{address}:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.log = tempfile.NamedTemporaryFile(prefix="mockserver-ns-", suffix=".log")
        env = {**os.environ, **SETTINGS}
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", "mockserver.cli", "serve",
             "--host", address, "--port", port, "--workers", "1", "--seed", "none",
             "--ephemeral", "--database", database_url, "--control-token", "ns-control"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                requests.get(f"{self.url}/v1/vision-alert/licenses/", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError(f"the namespaced host did not start:\n{self.output()}")

    def output(self) -> str:
        with open(self.log.name, encoding="utf-8", errors="replace") as handle:
            return handle.read()[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


def _upload(session, host: str, camera: str, shade: int):
    return session.post(
        f"{host}{CREATE_LOG}",
        headers=TOKEN,
        data={"camera_id": camera},
        files={"upload": ("a.jpg", hook_jpeg(shade), "image/jpeg")},
        timeout=30,
    )


def _window_burst(hosts: list[str], camera: str, shade: int, count: int = 12) -> Counter:
    """``count`` uploads for one camera at once, alternating over ``hosts``."""

    def one(number: int) -> int:
        return _upload(requests.Session(), hosts[number % len(hosts)], camera, shade).status_code

    with ThreadPoolExecutor(count) as pool:
        return Counter(pool.map(one, range(count)))


def _webhook_attempts(host: str) -> list[tuple[int, bool]]:
    found = requests.get(f"{host}/_mock/visionalert/deliveries", timeout=30).json()
    return [(d["alert_id"], d["ok"]) for d in found["deliveries"] if d["channel"] == "webhook"]


def _all_delivered(host: str) -> bool:
    attempts = _webhook_attempts(host)
    return bool(attempts) and {a for a, _ in attempts} == {a for a, ok in attempts if ok}


def _read(host: str) -> tuple[int, float, requests.Response | None]:
    began = time.monotonic()
    try:
        reply = requests.get(f"{host}/v1/vision-alert/licenses/", headers=TOKEN, timeout=30)
    except requests.RequestException:
        return 0, time.monotonic() - began, None
    return reply.status_code, time.monotonic() - began, reply


def test_a_host_cut_off_from_the_database_answers_503_and_recovers_by_itself(
    postgres_server, namespace
):
    name, here, there = namespace
    url = postgres_server.database()
    relay = Relay((here, 0), ("127.0.0.1", postgres_server.port))
    relayed = url.replace(f"127.0.0.1:{postgres_server.port}", f"{here}:{relay.address[1]}")
    receiver = Receiver(here)  # on the link's near end: both hosts reach it
    (near,) = start_hosts(url, count=1, **SETTINGS)
    far = None
    try:
        far = NamespacedHost(name, there, relayed)
        b, a = near.url, far.url
        seeded = requests.post(f"{b}/_mock/seed", json=hook_seed(webhook=receiver.url))
        license_id = seeded.json()["accounts"][0]["licenses"][0]["id"]
        requests.post(f"{b}/_mock/clock", json={"set": START})
        session, started = requests.Session(), time.monotonic()
        assert _upload(session, a, "A-BEFORE", 1).status_code == 200

        # 200 ms latency, 5 % loss: slower, never a 5xx, the window exact across hosts
        relay.delay, relay.loss = 0.2, 0.05
        slow = [_read(a) for _ in range(3)]
        assert [status for status, _, _ in slow] == [200] * 3, slow
        assert _window_burst([a, b], "WINDOW-SLOW", 3, 8) == Counter({200: 1, 429: 7})
        relay.delay, relay.loss = 0.0, 0.0

        # the link cut: 503 within the timeout on A; B serves the same world meanwhile
        relay.cut()
        cut = [_read(a) for _ in range(2)]
        for status, took, reply in cut:
            assert status == 503 and took < DB_TIMEOUT + 1.5, cut
            assert reply.json() == {"detail": UNAVAILABLE_TEXT} and reply.headers["Retry-After"]
        assert _upload(session, a, "A-CUT", 4).status_code == 503
        assert _read(b)[0] == 200
        assert _upload(session, b, "B-DURING", 5).status_code == 200
        raise_alert(session, b, license_id)  # a webhook falls due, for any host's tick

        # healed: A serves again by itself, sees B's writes; the window still exact
        relay.heal()
        healed = time.monotonic()
        while _read(a)[0] != 200:
            assert time.monotonic() - healed < 5.0, far.output()
            time.sleep(0.05)
        recovered = time.monotonic() - healed
        cameras = requests.get(
            f"{a}/v1/vision-alert/{license_id}/cameras/", headers=TOKEN, params={"page_size": 50}
        ).json()["results"]
        assert {"B-DURING", "A-BEFORE", "WINDOW-SLOW"} <= {camera["serial"] for camera in cameras}
        assert "A-CUT" not in {camera["serial"] for camera in cameras}
        assert _window_burst([a, b], "WINDOW-HEALED", 6) == Counter({200: 1, 429: 11})
        # every alert's webhook delivered, by either host; each reached the receiver once
        requests.post(f"{b}/_mock/clock", json={"advance": 60})
        deadline = time.monotonic() + 20
        while not _all_delivered(b) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # a duplicate, if any, would have arrived by now
        attempts = _webhook_attempts(b)
        assert attempts and _all_delivered(b)
        assert Counter(receiver.hits) == Counter(alert for alert, _ok in attempts), receiver.hits
        print(
            f"\n[cut-off host] {time.monotonic() - started:.1f} s in all;"
            f" slow reads {[round(t, 2) for _, t, _ in slow]} s; cut: 503 in "
            f"{[round(t, 2) for _, t, _ in cut]} s; recovered {recovered:.2f} s after the heal"
        )
    finally:
        if far is not None:
            far.stop()
        near.stop()
        relay.close()
        receiver.close()
        postgres_server.drop(url)
