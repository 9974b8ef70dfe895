"""The `mockserver serve` command: several worker processes sharing one store."""

from __future__ import annotations

import requests

from mockserver.testkit.plugin import LiveServer

from ..conftest import SEED_EXAMPLE


def test_two_workers_share_clock_and_seed():
    with LiveServer(workers=2, seed="none") as server:
        session = requests.Session()
        reply = session.post(server.url + "/_mock/seed", json=SEED_EXAMPLE)
        assert reply.status_code == 201
        license_id = reply.json()["accounts"][0]["licenses"][0]["id"]
        reply = session.post(server.url + "/_mock/clock", json={"set": "2026-04-10T14:30:00Z"})
        assert reply.json() == {"now": "2026-04-10T14:30:00Z", "frozen": True}
        # fresh connections spread over both workers; every one must see the same world
        for _ in range(40):
            clock = requests.get(server.url + "/_mock/clock").json()
            assert clock == {"now": "2026-04-10T14:30:00Z", "frozen": True}
            listed = requests.get(
                server.url + "/v1/vision-alert/licenses/", headers={"Authorization": "Token tok-a"}
            )
            assert [row["id"] for row in listed.json()] == [license_id]
        bad = requests.get(
            server.url + "/api/v1/parking-list/", headers={"Authorization": "Token nope"}
        )
        assert bad.status_code == 401 and bad.json() == {"detail": "Invalid token."}


def test_demo_seed_prints_tokens():
    with LiveServer(workers=1, seed="demo") as server:
        log = server.log()
        assert "token demo-token" in log
        assert "license LIC-DEMO-1 id=" in log
