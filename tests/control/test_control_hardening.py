"""Control-plane hardening: the token, switching the plane off, loopback by default,
webhook URL schemes, and webhook receivers that cannot slow the API down."""

from __future__ import annotations

import base64
import http.server
import re
import statistics
import threading
import time

import psutil
import pytest
import requests

from mockserver import Config, create_app
from mockserver.cli import serve
from mockserver.testkit import seeds
from mockserver.testkit.plugin import LiveServer, free_port

from ..conftest import auth
from ..images import solid

SECRET = "s3cret-control-token"
TOKEN = "tok-hard"
START = "2026-04-10T14:30:00Z"


def seed(webhook: str | None = None) -> dict:
    cameras = [seeds.camera("CAM-H")]
    return seeds.world(
        seeds.account(
            TOKEN, licenses=[seeds.license("LIC-H", size=500, webhook_url=webhook, cameras=cameras)]
        )
    )


def jpeg(shade: int = 100) -> bytes:
    return solid((400, 300), (shade, 80, 40))


def raise_alert(session, control_url: str, license_id: int, api_url: str | None = None) -> None:
    """Through a live server: a forced Blur score on CAM-H, an upload (to ``api_url``, the
    same server by default) and the clock moved on: an alert is emitted and its webhook
    delivery falls due."""
    camera = f"/_mock/visionalert/licenses/{license_id}/cameras/CAM-H"
    session.post(f"{control_url}{camera}/forced-scores", json={"scores": {"Blur": 0.95}})
    reply = session.post(
        f"{api_url or control_url}/v1/vision-alert/create-log/",
        headers={"Authorization": f"Token {TOKEN}"},
        data={"camera_id": "CAM-H"},
        files={"upload": ("a.jpg", jpeg(7), "image/jpeg")},
    )
    assert reply.status_code == 200, reply.text
    session.post(f"{control_url}/_mock/clock", json={"advance": 1000})


def control_routes() -> list[tuple[str, str]]:
    """(method, concrete path) of every control-plane route of every blueprint."""
    app = create_app(Config(seed="none", tick_seconds=0))
    try:
        found = []
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/_mock"):
                continue
            path = re.sub(r"<int:[^>]+>", "1", rule.rule)
            path = re.sub(r"<[^>]+>", "x", path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((method, path))
        return sorted(set(found))
    finally:
        app.extensions["mockserver"].close()


ROUTES = control_routes()
BLUEPRINTS = {"faults", "requests", "assertions", "visionalert", "openapi", "docs", "mutants",
              "settings", "seed", "reset", "clock", "health", "accounts", "parkpow",
              "ui"}  # fmt: skip


def test_every_control_blueprint_is_enumerated():
    seen = {path.split("/")[2].split(".")[0] for _method, path in ROUTES}
    assert BLUEPRINTS <= seen, BLUEPRINTS - seen


@pytest.fixture(scope="module")
def guarded():
    app = create_app(Config(seed="none", tick_seconds=0, control_token=SECRET))
    client = app.test_client()
    yield client
    app.extensions["mockserver"].close()


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_control_token_required_on_every_route(guarded, method, path):
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {SECRET}x"},
        {"Authorization": f"Token {SECRET}"},
        {"Authorization": f"Basic {SECRET}"},
        {"Authorization": "Bearer"},
    ):
        reply = guarded.open(path, method=method, headers=headers, json={})
        assert reply.status_code == 401, (headers, reply.status_code)
        assert reply.json == {"detail": "Control-plane token required."}
        # browser pages ask the browser for the token (HTTP Basic); the JSON API for Bearer
        page = path.startswith(("/_mock/ui", "/_mock/docs"))
        expected = 'Basic realm="mockserver control plane", charset="UTF-8"' if page else "Bearer"
        assert reply.headers["WWW-Authenticate"] == expected
    reply = guarded.open(path, method=method, headers={"Authorization": f"Bearer {SECRET}"})
    assert reply.status_code != 401
    basic = "Basic " + base64.b64encode(f"anyone:{SECRET}".encode()).decode()
    assert guarded.open(path, method=method, headers={"Authorization": basic}).status_code != 401
    wrong = "Basic " + base64.b64encode(f"{SECRET}:x".encode()).decode()
    assert guarded.open(path, method=method, headers={"Authorization": wrong}).status_code == 401


@pytest.mark.parametrize(
    "path",
    ["/_mock/health", "/_mock/", "/_mock", "/_mock/nope", "/_mockx", "/_mock/health/",
     "/_mock//health", "/_mock/./health"],
)  # fmt: skip
def test_control_token_guards_the_whole_prefix(guarded, path):
    for method in ("GET", "HEAD", "OPTIONS", "POST", "DELETE"):
        assert guarded.open(path, method=method).status_code == 401


@pytest.mark.parametrize(
    "path", ["//_mock/health", "/%5fmock/health", "/_MOCK/health", "/x/../_mock/health",
             "/media/../_mock/health"],
)  # fmt: skip
def test_no_way_around_the_token(guarded, path):
    reply = guarded.get(path)
    assert reply.status_code in (401, 404), (path, reply.status_code)
    assert reply.mimetype == "application/json"


def test_vendor_api_needs_no_control_token(guarded):
    assert guarded.get("/v1/vision-alert/licenses/").status_code == 401  # its own auth
    assert guarded.get("/v1/vision-alert/licenses/").json == {
        "detail": "Authentication credentials were not provided."
    }


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_no_control_removes_every_route(method, path, disabled):
    reply = disabled.open(path, method=method, json={})
    assert reply.status_code == 404, reply.status_code
    assert reply.json == {"detail": "Not found."}


@pytest.fixture(scope="module")
def disabled():
    app = create_app(Config(seed="none", tick_seconds=0, control_enabled=False))
    yield app.test_client()
    app.extensions["mockserver"].close()


def test_live_flags_control_token_and_no_control():
    with LiveServer(seed="demo", extra_args=["--control-token", SECRET]) as live:
        assert requests.get(f"{live.url}/_mock/health").status_code == 401
        reply = requests.get(
            f"{live.url}/_mock/health", headers={"Authorization": f"Bearer {SECRET}"}
        )
        assert reply.json() == {"status": "ok"}
        assert requests.post(f"{live.url}/_mock/reset").status_code == 401
        demo = requests.get(f"{live.url}/v1/vision-alert/licenses/", headers=auth("demo-token"))
        assert demo.status_code == 200
    with LiveServer(seed="demo", extra_args=["--no-control"]) as live:
        reply = requests.get(f"{live.url}/_mock/health")
        assert reply.status_code == 404 and reply.json() == {"detail": "Not found."}
        reply = requests.post(f"{live.url}/_mock/reset")
        assert reply.status_code == 404
        demo = requests.get(f"{live.url}/v1/vision-alert/licenses/", headers=auth("demo-token"))
        assert demo.status_code == 200


# -- loopback by default -----------------------------------------------------------------------


def test_serve_binds_loopback_by_default():
    host = next(param for param in serve.params if param.name == "host")
    assert host.default == "127.0.0.1"
    with LiveServer(seed="none") as live:  # no --host given
        tree = psutil.Process(live.process.pid)
        listening = set()
        deadline = time.monotonic() + 10
        while not listening and time.monotonic() < deadline:
            for process in [tree, *tree.children(recursive=True)]:
                try:
                    connections = process.net_connections(kind="tcp")
                except (psutil.AccessDenied, psutil.NoSuchProcess):
                    continue
                listening |= {
                    (c.laddr.ip, c.laddr.port)
                    for c in connections
                    if c.status == psutil.CONN_LISTEN
                }
        assert listening == {("127.0.0.1", live.port)}, listening


# -- webhook URLs ------------------------------------------------------------------------------

BAD_SCHEMES = ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/",
               "javascript:alert(1)", "127.0.0.1:8000/hook", "//127.0.0.1/hook", "data:,x",
               " http://127.0.0.1/x", "HTTP://"]  # fmt: skip


@pytest.mark.parametrize("url", BAD_SCHEMES)
def test_webhook_url_must_be_http(client, url):
    reply = client.post("/_mock/seed", json=seed(webhook=url))
    assert reply.status_code == 400, reply.json
    assert client.get("/_mock/visionalert/alerts").status_code == 200
    reply = client.post("/_mock/seed", json=seed())
    assert reply.status_code == 201, reply.json  # the refused seed left nothing behind
    license_id = reply.json["accounts"][0]["licenses"][0]["id"]
    notifications = f"/_mock/visionalert/licenses/{license_id}/notifications"
    reply = client.post(notifications, json={"webhook_url": url})
    assert reply.status_code == 400, reply.json
    assert client.get(notifications).json["webhook_url"] is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "https://hooks.example.com/x?a=1"])
def test_webhook_url_http_and_https_accepted(client, url):
    reply = client.post("/_mock/seed", json=seed(webhook=url))
    assert reply.status_code == 201, reply.json
    license_id = reply.json["accounts"][0]["licenses"][0]["id"]
    notifications = f"/_mock/visionalert/licenses/{license_id}/notifications"
    assert client.get(notifications).json["webhook_url"] == url
    assert client.post(notifications, json={"webhook_url": None}).status_code == 200
    assert client.post(notifications, json={"webhook_url": url}).json["webhook_url"] == url


# -- a hanging webhook receiver never delays the API --------------------------------------------


class HangingReceiver:
    """A webhook receiver on 127.0.0.1 that holds every request until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.arrived = threading.Event()
        self.hits = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.hits += 1
                receiver.arrived.set()
                receiver.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _timed_round(url: str, license_id: int, round_number: int, session) -> list[float]:
    """One call of each kind: reads, an upload, a clock advance; seconds each."""
    headers = {"Authorization": f"Token {TOKEN}"}
    calls = [
        lambda: session.get(f"{url}/v1/vision-alert/licenses/", headers=headers),
        lambda: session.get(f"{url}/v1/vision-alert/{license_id}/cameras/", headers=headers),
        lambda: session.get(f"{url}/v1/vision-alert/{license_id}/alerts/", headers=headers),
        lambda: session.post(
            f"{url}/v1/vision-alert/create-log/",
            headers=headers,
            data={"camera_id": f"T-{round_number}"},
            files={"upload": ("a.jpg", jpeg(round_number % 200), "image/jpeg")},
        ),
        lambda: session.post(f"{url}/_mock/clock", json={"advance": 1}),
    ]
    took = []
    for call in calls:
        began = time.perf_counter()
        reply = call()
        took.append(time.perf_counter() - began)
        assert reply.status_code < 300, reply.text
    return took


def test_hanging_webhook_receiver_never_delays_the_api():
    receiver = HangingReceiver()
    env = {"MOCKSERVER_WEBHOOK_TIMEOUT": "60", "MOCKSERVER_TICK_SECONDS": "0.2"}
    try:
        with LiveServer(workers=2, seed="none", env=env) as live:
            session = requests.Session()
            reply = session.post(f"{live.url}/_mock/seed", json=seed(webhook=receiver.url))
            license_id = reply.json()["accounts"][0]["licenses"][0]["id"]
            session.post(f"{live.url}/_mock/clock", json={"set": START})
            rounds = 12
            baseline = [_timed_round(live.url, license_id, n, session) for n in range(rounds)]
            # an alert for the license: its webhook delivery goes to the hanging receiver
            raise_alert(session, live.url, license_id)
            assert receiver.arrived.wait(20), "the webhook never reached the receiver"
            during = [
                _timed_round(live.url, license_id, rounds + n, session) for n in range(rounds)
            ]
            assert not receiver.release.is_set() and receiver.hits >= 1  # still hanging
            ratios = []
            for kind in range(len(baseline[0])):
                before = statistics.median(r[kind] for r in baseline)
                hanging = statistics.median(r[kind] for r in during)
                ratios.append(round(hanging / before, 2))
                assert hanging / before < 4, (kind, before, hanging)
            print(f"\n[control] API time while a webhook hangs / before, by call: {ratios}")
            receiver.release.set()
            deadline = time.monotonic() + 20
            delivered = []
            while not delivered and time.monotonic() < deadline:
                found = session.get(f"{live.url}/_mock/visionalert/deliveries").json()
                found = found.get("deliveries", found) if isinstance(found, dict) else found
                delivered = [d for d in found if d["channel"] == "webhook" and d["ok"]]
                time.sleep(0.1)
            assert delivered, "the released delivery was never recorded"
    finally:
        receiver.close()
