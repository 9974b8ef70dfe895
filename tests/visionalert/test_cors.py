"""create-log's CORS policy over HTTP: the preflight, and every reply to a cross-origin
POST (200, 400, 401, 403, 413, 429 of each kind) readable by a page of any origin.
Nothing else has a policy: other vendor endpoints and the control plane send no CORS
headers."""

from __future__ import annotations

import io

import pytest

from ..conftest import auth
from .va_support import CREATE_LOG, TOKEN, photo, seed

ORIGIN = "http://127.0.0.1:5173"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization",
}


def _allows_page(reply) -> None:
    assert reply.headers.get("Access-Control-Allow-Origin") == "*"
    assert "retry-after" in reply.headers["Access-Control-Expose-Headers"].lower()


def _no_cors(reply) -> None:
    assert not [name for name in reply.headers.keys() if name.lower().startswith("access-control")]


@pytest.mark.parametrize("path", [CREATE_LOG, CREATE_LOG.rstrip("/")])
def test_preflight_allows_any_origin_post_and_authorization(client, path):
    reply = client.options(path, headers=PREFLIGHT)
    assert reply.status_code in (200, 204)
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in reply.headers["Access-Control-Allow-Methods"]
    # like django-cors-headers: every allowed header, whatever the preflight asked for
    asked_one = {
        h.strip().lower() for h in reply.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert asked_one == {"authorization", "content-type"}
    both = client.options(
        path, headers={**PREFLIGHT, "Access-Control-Request-Headers": "Authorization, Content-Type"}
    )
    allowed = {h.strip().lower() for h in both.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"authorization", "content-type"}
    assert int(both.headers["Access-Control-Max-Age"]) > 0


def test_preflight_without_origin_is_plain(client):
    reply = client.options(CREATE_LOG)
    assert reply.status_code == 200
    assert "POST" in reply.headers["Allow"]
    _no_cors(reply)


def test_preflight_ignores_faults(client):
    seed(client)
    fault = {"match": {"path": CREATE_LOG}, "action": {"type": "status", "status": 503}}
    assert client.post("/_mock/faults", json=fault).status_code == 201
    assert client.options(CREATE_LOG, headers=PREFLIGHT).status_code == 200
    assert client.get("/_mock/faults").json["faults"][0]["seen"] == 0


def _post(client, token: str | None = TOKEN, origin: str | None = ORIGIN, **kwargs):
    headers = auth(token) if token else {}
    if origin:
        headers["Origin"] = origin
    kwargs.setdefault("data", {"camera_id": "CAM-1", "upload": (io.BytesIO(photo()), "frame.jpg")})
    return client.post(CREATE_LOG, headers=headers, **kwargs)


@pytest.mark.parametrize("origin", [ORIGIN, None])
def test_every_status_carries_the_policy(make_app, origin):
    app = make_app(upload_limit=200_000)
    client = app.test_client()
    seed(client, rate=None)
    client.post("/_mock/seed", json={"accounts": [{"token": "pp-only", "products": ["parkpow"]}]})
    check = _allows_page if origin else _no_cors

    first = _post(client, origin=origin)
    assert first.status_code == 200 and first.json == {"message": "Log created successfully."}
    check(first)
    window = _post(client, origin=origin)  # the same camera within its window
    assert window.status_code == 429 and int(window.headers["Retry-After"]) > 0
    check(window)
    invalid = _post(client, origin=origin, data={"camera_id": "CAM-2"})
    assert invalid.status_code == 400
    check(invalid)
    anonymous = _post(client, token=None, origin=origin)
    assert anonymous.status_code == 401
    check(anonymous)
    forbidden = _post(client, token="pp-only", origin=origin)
    assert forbidden.status_code == 403
    check(forbidden)
    big = {"camera_id": "CAM-3", "upload": (io.BytesIO(b"\xff" * 300_000), "big.jpg")}
    too_large = _post(client, origin=origin, data=big)
    assert too_large.status_code == 413
    check(too_large)


def test_throttle_and_injected_429_are_readable(client):
    seed(client, rate=1)
    assert _post(client).status_code == 200
    throttled = _post(client, data={"camera_id": "CAM-9", "upload": (io.BytesIO(photo()), "f.jpg")})
    assert throttled.status_code == 429 and "throttled" in throttled.json["detail"]
    _allows_page(throttled)
    client.post("/_mock/accounts/tok-va/rate-limit", json={"rate_limit_per_second": None})
    fault = {
        "match": {"path": CREATE_LOG, "method": "POST"},
        "action": {"type": "status", "status": 429, "headers": {"Retry-After": "7"}},
        "times": 1,
    }
    assert client.post("/_mock/faults", json=fault).status_code == 201
    injected = _post(client, data={"camera_id": "CAM-8", "upload": (io.BytesIO(photo()), "f.jpg")})
    assert injected.status_code == 429 and injected.headers["Retry-After"] == "7"
    assert injected.json == {"detail": "Request was throttled."}
    _allows_page(injected)


@pytest.mark.parametrize(
    "path",
    ["/v1/vision-alert/licenses/", "/api/v1/parking-list/", "/_mock/clock", "/_mock/health"],
)
def test_other_endpoints_have_no_policy(client, path):
    seed(client)
    _no_cors(client.options(path, headers={**PREFLIGHT, "Access-Control-Request-Method": "GET"}))
    _no_cors(client.get(path, headers={**auth(TOKEN), "Origin": ORIGIN}))


def test_control_plane_never_answers_cross_origin_with_a_token(make_app):
    client = make_app(control_token="secret").test_client()
    reply = client.options("/_mock/faults", headers=PREFLIGHT)
    assert reply.status_code == 401
    _no_cors(reply)
    reply = client.get(
        "/_mock/faults", headers={"Origin": ORIGIN, "Authorization": "Bearer secret"}
    )
    assert reply.status_code == 403  # a foreign Origin is refused, token or not
    _no_cors(reply)
