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


def test_reachable_bind_without_a_token_gets_a_generated_one():
    """``--host 0.0.0.0`` (the Dockerfile's) never serves an open control plane: without a
    configured token one is generated and printed; loopback and a given token print none."""
    import re

    with LiveServer(workers=1, seed="none", extra_args=["--host", "0.0.0.0"]) as server:
        found = re.search(r"control token (\S+)\s+\(generated", server.log())
        assert found, server.log()
        token = found.group(1)
        assert len(token) >= 32
        assert requests.get(server.url + "/_mock/clock").status_code == 401
        reply = requests.get(
            server.url + "/_mock/clock", headers={"Authorization": f"Bearer {token}"}
        )
        assert reply.status_code == 200
    env = {"MOCKSERVER_CONTROL_TOKEN": "chosen"}
    with LiveServer(workers=1, seed="none", extra_args=["--host", "0.0.0.0"], env=env) as server:
        assert "control token" not in server.log()
        assert requests.get(server.url + "/_mock/clock").status_code == 401
        ok = requests.get(server.url + "/_mock/clock", headers={"Authorization": "Bearer chosen"})
        assert ok.status_code == 200
    with LiveServer(workers=1, seed="none") as server:  # 127.0.0.1: open, as before
        assert "control token" not in server.log()
        assert requests.get(server.url + "/_mock/clock").status_code == 200
