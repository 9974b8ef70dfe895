"""Shared fixtures: a fresh app (throw-away store) per test, driven through HTTP."""

from __future__ import annotations

import pytest

from mockserver import Config, create_app

SEED_EXAMPLE = {
    "accounts": [
        {
            "token": "tok-a",
            "products": ["parkpow", "visionalert"],
            "rate_limit_per_second": 1,
            "visionalert": {
                "licenses": [
                    {
                        "code": "LIC-A",
                        "size": 50,
                        "va_type": "meraki",
                        "expiration": "2027-01-15T00:00:00Z",
                        "webhook_url": None,
                        "notify_email": None,
                        "cameras": [
                            {"serial": "C1", "name": "Front", "tags": ["site-a"], "notes": ""}
                        ],
                    }
                ]
            },
            "parkpow": {
                "parkings": [
                    {
                        "name": "first-parking",
                        "parking_spaces": 100,
                        "absent_timer": 3,
                        "cameras": [{"code": "101", "name": "cam-101", "type": "ENTRANCE"}],
                    }
                ]
            },
        }
    ]
}


def auth(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


@pytest.fixture
def make_app():
    """Build apps with a throw-away store; each is closed after the test."""
    apps = []

    def build(**settings):
        settings.setdefault("seed", "none")
        settings.setdefault("tick_seconds", 0)
        app = create_app(Config(**settings))
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["mockserver"].close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def seeded(client):
    """The README's seed example loaded, clock frozen at 2026-04-10T14:30:00Z."""
    reply = client.post("/_mock/seed", json=SEED_EXAMPLE)
    assert reply.status_code == 201, reply.json
    client.post("/_mock/clock", json={"set": "2026-04-10T14:30:00Z"})
    return reply.json
