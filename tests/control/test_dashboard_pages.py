"""The dashboard's pages through the Flask test client: content, links, the control token,
escaping of client text (serials, tags, plates), keyset paging, the forms."""

from __future__ import annotations

import base64
import io
import os
import re
from html.parser import HTMLParser

import pytest
from PIL import Image, ImageDraw

from mockserver import Config, create_app
from mockserver.testkit import seeds

from ..conftest import auth
from ..visionalert.va_support import CREATE_LOG, START, jpeg_bytes, photo

TOKEN = "tok-ui"
EVIL_SERIAL = "<img src=x onerror=alert(1)>"
EVIL_TAG = "<script>alert(2)<"
EVIL_PLATE = "<svg onload=alert(3)>"
SCRIPT_RE = re.compile(r"<script\b(?![^>]*\bsrc=\"/_mock/ui/static/ui\.js\")", re.I)


def world_seed(cameras: int = 3) -> dict:
    return seeds.world(
        seeds.account(
            TOKEN,
            products=["visionalert", "parkpow"],
            licenses=[
                seeds.license(
                    "LIC-UI",
                    size=200,
                    notify_email="ops@example.com",
                    cameras=[seeds.camera(f"CAM-{i:03d}", name=f"Cam {i}") for i in range(cameras)],
                )
            ],
            parkings=[
                seeds.parking(
                    "lot-<b>",
                    parking_spaces=10,
                    cameras=[seeds.parking_camera("E1", name="gate", type="ENTRANCE")],
                )
            ],
        )
    )


def covered(content: bytes) -> bytes:
    image = Image.open(io.BytesIO(content)).convert("RGB")
    ImageDraw.Draw(image).rectangle((0, 0, image.width * 0.6, image.height), fill=(35, 35, 38))
    return jpeg_bytes(image)


def upload(client, serial: str, content: bytes, **fields):
    data = {"camera_id": serial, "upload": (io.BytesIO(content), "f.jpg"), **fields}
    reply = client.post(CREATE_LOG, data=data, headers=auth(TOKEN))
    assert reply.status_code == 200, reply.json
    return reply


@pytest.fixture
def world(make_app):
    """An app with a license, a camera with a reference and a covered snapshot (an
    anomaly and an alert), a camera with hostile client text, a parking visit."""
    app = make_app()
    client = app.test_client()
    assert client.post("/_mock/seed", json=world_seed()).status_code == 201
    client.post("/_mock/clock", json={"set": START})
    upload(client, "CAM-000", photo())
    upload(client, EVIL_SERIAL, photo(), tag=EVIL_TAG)
    client.post("/_mock/clock", json={"advance": 960})
    upload(client, "CAM-000", covered(photo()))
    client.post("/_mock/clock", json={"advance": 960})  # processed; the alert is emitted
    sighting = {"camera": "E1", "image": base64.b64encode(photo(320)).decode()}
    sighting["results"] = [{"plate": EVIL_PLATE, "score": 0.9}]
    assert (
        client.post("/api/v1/log-vehicle/", json=sighting, headers=auth(TOKEN)).status_code == 200
    )
    app.license_id = client.get("/v1/vision-alert/licenses/", headers=auth(TOKEN)).json[0]["id"]
    return app


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.hrefs.append(found["href"])
        if tag in ("img", "script", "link") and (found.get("src") or found.get("href")):
            self.srcs.append(found.get("src") or found["href"])


def page(client, path: str) -> tuple[str, Links]:
    reply = client.get(path)
    assert reply.status_code == 200, (path, reply.status_code, reply.data[:300])
    assert reply.mimetype == "text/html"
    assert "script-src 'self'" in reply.headers["Content-Security-Policy"]
    html = reply.get_data(as_text=True)
    links = Links()
    links.feed(html)
    return html, links


def pages_of(app) -> dict[str, str]:
    lic = app.license_id
    return {
        "overview": "/_mock/ui",
        "cameras": f"/_mock/ui/licenses/{lic}",
        "camera": f"/_mock/ui/licenses/{lic}/cameras/CAM-000",
        "alerts": f"/_mock/ui/licenses/{lic}/alerts",
        "parkpow": "/_mock/ui/parkpow",
        "journal": "/_mock/ui/journal",
        "faults": "/_mock/ui/faults",
    }


def test_every_page_renders_and_its_links_resolve(world):
    client = world.test_client()
    seen = set()
    for name, path in pages_of(world).items():
        html, links = page(client, path)
        assert 'href="/_mock/ui/static/ui.css"' in html, name
        for target in links.hrefs + links.srcs:
            if target.startswith(("/_mock/", "/media/")) and target not in seen:
                seen.add(target)
                assert client.get(target).status_code == 200, (name, target)
    assert any("/overlay.svg" in target for target in seen)
    assert any("/thumbs/" in target for target in seen)


def test_overview_and_camera_grid_content(world):
    client = world.test_client()
    html, links = page(client, "/_mock/ui")
    assert "LIC-UI" in html
    assert TOKEN not in html and "t•••" in html  # tokens are masked
    html, links = page(client, f"/_mock/ui/licenses/{world.license_id}")
    assert html.count('<article class="card">') == 4  # three seeded, one new serial
    card = html[html.index("CAM-000</a>") :].split("</article>")[0]
    assert "anomaly" in card
    assert card.count("/_mock/ui/thumbs/") == 2  # latest snapshot beside the reference
    assert re.search(r'<tr class="over">\s*<th>Obstruction</th>', card)


def test_camera_page_has_history_and_overlay(world):
    client = world.test_client()
    html, links = page(client, f"/_mock/ui/licenses/{world.license_id}/cameras/CAM-000")
    assert html.count('<li class="') == 2  # two logs in the strip
    overlay = next(src for src in links.srcs if src.endswith("/overlay.svg"))
    svg = client.get(overlay)
    assert svg.mimetype == "image/svg+xml"
    assert '<g class="obstruction"' in svg.get_data(as_text=True)
    older = next(h for h in links.hrefs if "log=" in h and h != overlay)
    assert client.get(older).status_code == 200


def test_client_text_is_escaped_everywhere(world):
    client = world.test_client()
    for path in [*pages_of(world).values(), "/_mock/ui/journal/1"]:
        html, _ = page(client, path)
        for hostile in (EVIL_SERIAL, EVIL_TAG, EVIL_PLATE.upper(), "lot-<b>"):
            assert hostile not in html, (path, hostile)
        assert not SCRIPT_RE.search(html), path  # no script but our own file
    cameras, _ = page(client, f"/_mock/ui/licenses/{world.license_id}")
    assert "&lt;img src=x onerror=alert(1)&gt;" in cameras
    assert "&lt;script&gt;alert(2)&lt;" in cameras
    parkpow, _ = page(client, "/_mock/ui/parkpow")
    assert "&lt;SVG ONLOAD=ALERT(3)&gt;" in parkpow and "lot-&lt;b&gt;" in parkpow
    serial = EVIL_SERIAL.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")
    camera, _ = page(client, f"/_mock/ui/licenses/{world.license_id}/cameras/{serial}")
    assert "&lt;img src=x onerror=alert(1)&gt;" in camera


def test_alerts_page_shows_the_alert_and_its_email(world):
    html, _ = page(world.test_client(), f"/_mock/ui/licenses/{world.license_id}/alerts")
    assert "alert #1" in html and "emitted" in html
    assert "e-mail to ops@example.com" in html and "delivered" in html


def test_keyset_pages_walk_every_camera_once(make_app):
    app = make_app()
    client = app.test_client()
    client.post("/_mock/seed", json=world_seed(cameras=110))
    lic = client.get("/v1/vision-alert/licenses/", headers=auth(TOKEN)).json[0]["id"]
    path, seen = f"/_mock/ui/licenses/{lic}", []
    while path:
        html, links = page(client, path)
        seen += re.findall(r'class="serial">(CAM-\d+)<', html)
        following = [h for h in links.hrefs if "after=" in h]
        path = following[0].replace("&amp;", "&") if following else None
    assert sorted(seen) == [f"CAM-{i:03d}" for i in range(110)]


def test_clock_buttons_and_fault_forms(world):
    client = world.test_client()
    client.environ_base["HTTP_REFERER"] = "http://localhost/_mock/ui/"  # posted from the dashboard
    before = client.get("/_mock/clock").json["now"]
    back = f"/_mock/ui/licenses/{world.license_id}"
    reply = client.post("/_mock/ui/clock", data={"advance": "900", "back": back})
    assert reply.status_code == 303 and reply.headers["Location"].endswith(back)
    assert client.get("/_mock/clock").json["now"] > before
    reply = client.post("/_mock/ui/clock", data={"set": "2026-05-01T00:00:00Z"})
    assert reply.status_code == 303 and reply.headers["Location"].endswith("/_mock/ui/")
    assert client.get("/_mock/clock").json == {"now": "2026-05-01T00:00:00Z", "frozen": True}
    assert client.post("/_mock/ui/clock", data={"back": "https://evil.example/"}).status_code == 400
    form = {"path": "/v1/*", "method": "GET", "kind": "status", "status": "503", "times": "2"}
    assert client.post("/_mock/ui/faults", data=form).status_code == 303
    (fault,) = client.get("/_mock/faults").json["faults"]
    assert fault["match"] == {"path": "/v1/*", "method": ["GET"]}
    assert fault["action"]["status"] == 503 and fault["remaining"] == 2
    html, _ = page(client, "/_mock/ui/faults")
    assert "status 503" in html and "∞" not in html
    assert client.get("/v1/vision-alert/licenses/", headers=auth(TOKEN)).status_code == 503
    journal, _ = page(client, "/_mock/ui/journal?status=5xx")
    assert journal.count('<tr class="s5">') == 1 and "fault #" in journal
    assert client.post(f"/_mock/ui/faults/{fault['id']}/delete").status_code == 303
    assert client.get("/_mock/faults").json["faults"] == []


def test_cross_site_forms_are_refused(world):
    client = world.test_client()
    before = client.get("/_mock/clock").json
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        reply = client.post("/_mock/ui/clock", data={"advance": "60"}, headers=headers)
        assert reply.status_code == 403 and reply.json["detail"].startswith("Cross-site")
    assert client.get("/_mock/clock").json == before
    same = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
    assert client.post("/_mock/ui/clock", data={"advance": "60"}, headers=same).status_code == 303


def test_live_feeds_answer_like_the_control_calls(world):
    client = world.test_client()
    assert client.get("/_mock/ui/feed/clock").json == client.get("/_mock/clock").json
    feed = client.get("/_mock/ui/feed/requests?since=0&path=/api/v1/").json
    assert feed == client.get("/_mock/requests?since=0&path=/api/v1/").json
    assert feed["count"] == 1 and feed["requests"][0]["path"] == "/api/v1/log-vehicle/"


def test_journal_assertions_run_for_a_token(world):
    html, _ = page(world.test_client(), f"/_mock/ui/journal?check={TOKEN}")
    for name in ("retry_after_honoured", "backoff_after_5xx", "followed_next_to_end"):
        assert name in html
    assert html.count("badge bad") + html.count("badge ok") >= 3


@pytest.mark.parametrize("path", ["/_mock/ui", "/_mock/ui/journal", "/_mock/ui/static/ui.js"])
def test_the_control_token_protects_the_dashboard(path):
    app = create_app(Config(seed="none", tick_seconds=0, control_token="s3cret"))
    client = app.test_client()
    try:
        reply = client.get(path)
        assert reply.status_code == 401
        assert reply.headers["WWW-Authenticate"].startswith("Basic realm=")
        basic = base64.b64encode(b"me:s3cret").decode()
        assert client.get(path, headers={"Authorization": f"Basic {basic}"}).status_code == 200
        assert client.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    finally:
        app.extensions["mockserver"].close()


def test_no_dashboard_without_the_control_plane():
    app = create_app(Config(seed="none", tick_seconds=0, control_enabled=False))
    try:
        assert app.test_client().get("/_mock/ui").status_code == 404
    finally:
        app.extensions["mockserver"].close()


def test_overlay_of_a_lost_image_is_not_found(world):
    client = world.test_client()
    world_ = world.extensions["mockserver"]
    html, links = page(client, f"/_mock/ui/licenses/{world.license_id}/cameras/CAM-000")
    overlay = next(src for src in links.srcs if src.endswith("/overlay.svg"))
    with world_.store.engine.begin() as conn:  # as if the analysis cache and file were gone
        conn.exec_driver_sql("DELETE FROM image_analysis")
    for folder, _dirs, files in os.walk(world_.media.root):
        for name in files:
            os.remove(os.path.join(folder, name))
    reply = client.get(overlay)
    assert reply.status_code == 404 and reply.json == {"detail": "Not found."}


def test_a_request_page_shows_headers_and_reply_escaped(make_app):
    client = make_app(seed="demo").test_client()
    hostile_reply = "<script>alert(5)</script>" + "r" * 3000
    action = {"type": "status", "status": 418, "body": hostile_reply}
    body = {"match": {"path": "/v1/*"}, "times": 1, "action": action}
    assert client.post("/_mock/faults", json=body).status_code == 201
    client.post(
        "/v1/vision-alert/licenses/",
        headers={**auth("demo-token"), "X-Evil": '"><img src=x onerror=alert(6)>'},
        data="<script>alert(7)</script>",
        content_type="text/plain",
    ).get_data()
    (entry,) = client.get("/_mock/requests").json["requests"]
    html, _ = page(client, f"/_mock/ui/journal/{entry['id']}")
    assert "not the headers" not in html  # the old notice is gone
    assert html.count("<h2>Reply headers</h2>") == 1 and html.count('table class="kv headers') == 2
    for hostile in ("<img src=x", "<script>alert(5)", "<script>alert(7)"):
        assert hostile not in html
    assert not SCRIPT_RE.search(html)
    assert "&#34;&gt;&lt;img src=x onerror=alert(6)&gt;" in html  # the header, shown escaped
    assert "&lt;script&gt;alert(7)&lt;/script&gt;" in html  # the request body
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" + "r" * 100 in html  # the reply body
    assert "3025 bytes in all" in html  # cut to the excerpt
    assert "Token demo•••en" in html and "demo-token" not in html  # masked
    assert re.search(r"<th>Content-Type</th><td><code>text/plain; charset=utf-8</code>", html)
    assert re.search(r"<th>X-Evil</th>", html)
