"""The control plane refuses what a foreign page can make a browser send (CSRF).

Each case goes through the HTTP interface and checks the state did not move: the clock,
the seeded world (a reset would empty it), the fault list and the mutant switch.
"""

from __future__ import annotations

import base64
import json

import pytest

from ..conftest import SEED_EXAMPLE

START = "2026-04-10T14:30:00Z"
PLAIN = {"Content-Type": "text/plain"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FOREIGN = "http://evil.example"


@pytest.fixture
def client(make_app):
    return _seeded(make_app().test_client())


def _seeded(client, **headers):
    assert client.post("/_mock/seed", json=SEED_EXAMPLE, headers=headers).status_code == 201
    assert client.post("/_mock/clock", json={"set": START}, headers=headers).status_code == 200
    return client


def _state(client, **headers) -> tuple:
    return (
        client.get("/_mock/clock", headers=headers).json,
        client.get("/_mock/requests?limit=1", headers=headers).status_code,
        client.get("/v1/vision-alert/licenses/", headers={"Authorization": "Token tok-a"}).json,
        client.get("/_mock/faults", headers=headers).json,
        client.get("/_mock/mutants", headers=headers).json,
        client.get("/_mock/settings", headers=headers).json,
    )


CROSS_SITE_POSTS = [
    ("text/plain clock", "/_mock/clock", b'{"advance": 60}', PLAIN, 415),
    ("form reset", "/_mock/reset?seed=none", b"", FORM, 415),
    ("form reset with fields", "/_mock/reset?seed=none", b"x=1", FORM, 415),
    ("text/plain fault", "/_mock/faults", b'{"action": "status"}', PLAIN, 415),
    ("text/plain mutants", "/_mock/mutants", b'{"active": ["ignored_auth"]}', PLAIN, 415),
    ("text/plain settings", "/_mock/settings", b'{"processing_delay": 999}', PLAIN, 415),
    ("multipart clock", "/_mock/clock", b"--b--\r\n", {"Content-Type": "multipart/form-data; boundary=b"}, 415),
    ("json from a foreign origin", "/_mock/clock", b'{"advance": 60}',
     {"Content-Type": "application/json", "Origin": FOREIGN}, 403),
    ("json from a foreign port of this host", "/_mock/clock", b'{"advance": 60}',
     {"Content-Type": "application/json", "Origin": "http://localhost:8001"}, 403),
    ("json from an opaque origin", "/_mock/clock", b'{"advance": 60}',
     {"Content-Type": "application/json", "Origin": "null"}, 403),
    ("json, browser says cross-site", "/_mock/clock", b'{"advance": 60}',
     {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403),
    ("json, browser says same-site", "/_mock/reset?seed=none", b"{}",
     {"Content-Type": "application/json", "Sec-Fetch-Site": "same-site"}, 403),
    ("dashboard form without Origin or Referer", "/_mock/ui/clock", b"advance=60", FORM, 403),
    ("dashboard form from a foreign Referer", "/_mock/ui/clock", b"advance=60",
     {**FORM, "Referer": FOREIGN + "/x"}, 403),
    ("dashboard form from a foreign Origin", "/_mock/ui/clock", b"advance=60",
     {**FORM, "Origin": FOREIGN}, 403),
    ("dashboard text/plain", "/_mock/ui/clock", b"advance=60",
     {**PLAIN, "Origin": "http://localhost"}, 415),
]  # fmt: skip


@pytest.mark.parametrize(
    "path, body, headers, status",
    [pytest.param(*case[1:], id=case[0]) for case in CROSS_SITE_POSTS],
)
def test_cross_site_posts_are_refused(client, path, body, headers, status):
    before = _state(client)
    reply = client.post(path, data=body, headers=headers)
    assert reply.status_code == status, reply.get_data()[:200]
    assert reply.mimetype == "application/json" and reply.json["detail"]
    assert _state(client) == before


def test_foreign_origin_is_refused_on_reads_and_preflights(client):
    for method in ("GET", "OPTIONS"):
        reply = client.open("/_mock/clock", method=method, headers={"Origin": FOREIGN})
        assert reply.status_code == 403 and reply.json["detail"].startswith("Cross-site")


def test_own_origin_json_and_tools_without_origin_still_work(client):
    reply = client.post(
        "/_mock/clock", json={"advance": 60}, headers={"Origin": "http://localhost"}
    )
    assert reply.status_code == 200 and reply.json["now"] == "2026-04-10T14:31:00Z"
    reply = client.post(
        "/_mock/clock", json={"advance": 60}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert reply.status_code == 200
    assert client.get("/_mock/clock", headers={"Origin": "http://localhost:80"}).status_code == 200
    reply = client.post(
        "/_mock/clock",
        data=b'{"advance": 60}',
        headers={"Content-Type": "application/vnd.api+json"},
    )
    assert reply.status_code == 200 and reply.json["now"] == "2026-04-10T14:33:00Z"
    # curl -X POST, an SDK: no Origin, no body
    assert client.post("/_mock/reset?seed=none").status_code == 200
    assert (
        client.get(
            "/v1/vision-alert/licenses/", headers={"Authorization": "Token tok-a"}
        ).status_code
        == 401
    )


def test_dashboard_form_from_its_own_page(client):
    before = client.get("/_mock/clock").json["now"]
    for source in ({"Origin": "http://localhost"}, {"Referer": "http://localhost/_mock/ui/"}):
        reply = client.post("/_mock/ui/clock", data={"advance": "60"}, headers=source)
        assert reply.status_code == 303
    assert client.get("/_mock/clock").json["now"] > before


def test_configured_public_url_is_this_origin(make_app):
    client = _seeded(make_app(public_base_url="https://emulator.example.com").test_client())
    reply = client.post(
        "/_mock/clock", json={"advance": 60}, headers={"Origin": "https://emulator.example.com"}
    )
    assert reply.status_code == 200
    reply = client.post("/_mock/clock", json={"advance": 60}, headers={"Origin": FOREIGN})
    assert reply.status_code == 403


def test_cached_basic_credentials_are_not_enough(make_app):
    """A browser re-sends Basic credentials to any page's request: they do not vouch for a
    form or text/plain body. A Bearer header (which no page can make a browser add) does."""
    basic = {"Authorization": "Basic " + base64.b64encode(b"me:secret").decode()}
    bearer = {"Authorization": "Bearer secret"}
    client = _seeded(make_app(control_token="secret").test_client(), **bearer)
    before = _state(client, **bearer)
    for path, body, headers in (
        ("/_mock/clock", b'{"advance": 60}', PLAIN),
        ("/_mock/reset?seed=none", b"", FORM),
        ("/_mock/mutants", b'{"active": ["ignored_auth"]}', PLAIN),
    ):
        reply = client.post(path, data=body, headers={**headers, **basic})
        assert reply.status_code == 415, (path, reply.json)
    reply = client.post("/_mock/clock", json={"advance": 60}, headers={**basic, "Origin": FOREIGN})
    assert reply.status_code == 403
    assert _state(client, **bearer) == before
    # Basic from the dashboard's own page, and JSON with Basic (no page can send it)
    assert client.post("/_mock/clock", json={"advance": 60}, headers=basic).status_code == 200
    reply = client.post(
        "/_mock/ui/clock", data={"advance": "60"}, headers={**basic, "Origin": "http://localhost"}
    )
    assert reply.status_code == 303
    # the token as Bearer stands for itself; the body must still be JSON to be read as JSON
    assert client.post("/_mock/reset?seed=none", headers={**FORM, **bearer}).status_code == 200
    reply = client.post(
        "/_mock/clock", data=json.dumps({"advance": 60}), headers={**PLAIN, **bearer}
    )
    assert reply.status_code == 415
