"""The HTTP edge: auth texts, JSON errors, trailing slashes."""

from __future__ import annotations

import pytest

from ..conftest import auth

PATHS = ["/api/v1/parking-list/", "/v1/vision-alert/licenses/"]


@pytest.mark.parametrize("path", PATHS)
def test_missing_credentials(client, seeded, path):
    reply = client.get(path)
    assert reply.status_code == 401
    assert reply.json == {"detail": "Authentication credentials were not provided."}
    assert reply.headers["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("path", PATHS)
def test_invalid_token(client, seeded, path):
    reply = client.get(path, headers=auth("nope"))
    assert reply.status_code == 401
    assert reply.json == {"detail": "Invalid token."}
    assert reply.headers["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("header", ["Bearer tok-a", "tok-a", "Token", "Basic dG9rLWE="])
def test_other_schemes_are_not_credentials(client, seeded, header):
    reply = client.get(PATHS[0], headers={"Authorization": header})
    assert reply.status_code == 401


def test_token_with_extra_parts_is_invalid(client, seeded):
    reply = client.get(PATHS[0], headers={"Authorization": "Token tok-a extra"})
    assert reply.json == {"detail": "Invalid token."}


@pytest.mark.parametrize("path", PATHS)
def test_with_and_without_trailing_slash(client, seeded, path):
    for variant in (path, path.rstrip("/")):
        reply = client.get(variant, headers=auth("tok-a"))
        assert reply.status_code == 200, variant


def test_post_without_trailing_slash_is_not_redirected(client):
    reply = client.post("/_mock/reset?seed=none")
    assert reply.status_code == 200
    reply = client.post("/_mock/seed", json={"accounts": []})
    assert reply.status_code == 201


def test_unknown_route_is_json_404(client):
    reply = client.get("/api/v1/does-not-exist/")
    assert reply.status_code == 404
    assert reply.json == {"detail": "Not found."}
    assert reply.mimetype == "application/json"


def test_wrong_method_is_json_405(client):
    reply = client.delete("/_mock/clock")
    assert reply.status_code == 405
    assert reply.json == {"detail": 'Method "DELETE" not allowed.'}
    assert "GET" in reply.headers["Allow"]


def test_product_not_enabled_is_403(client):
    client.post("/_mock/seed", json={"accounts": [{"token": "pp", "products": ["parkpow"]}]})
    reply = client.get("/v1/vision-alert/licenses/", headers=auth("pp"))
    assert reply.status_code == 403
    assert "detail" in reply.json
