"""The fixed control-plane core: health, seed, clock, reset, settings."""

from __future__ import annotations

import copy

from ..conftest import SEED_EXAMPLE, auth


def test_health(client):
    reply = client.get("/_mock/health")
    assert reply.status_code == 200
    assert reply.json == {"status": "ok"}


def test_seed_returns_license_ids(client):
    reply = client.post("/_mock/seed", json=SEED_EXAMPLE)
    assert reply.status_code == 201
    (account,) = reply.json["accounts"]
    assert account["token"] == "tok-a"
    (lic,) = account["licenses"]
    assert lic["code"] == "LIC-A" and isinstance(lic["id"], int)
    listed = client.get("/v1/vision-alert/licenses/", headers=auth("tok-a")).json
    assert [row["id"] for row in listed] == [lic["id"]]


def test_seed_needs_a_json_content_type(client):
    """JSON under a form type is what a foreign page can post: the control plane refuses it."""
    import json

    reply = client.post(
        "/_mock/seed",
        data=json.dumps(SEED_EXAMPLE),
        content_type="application/x-www-form-urlencoded",
    )
    assert reply.status_code == 415
    assert client.get("/v1/vision-alert/licenses/", headers=auth("tok-a")).status_code == 401


def test_reseed_same_token_is_rejected_and_changes_nothing(client):
    assert client.post("/_mock/seed", json=SEED_EXAMPLE).status_code == 201
    again = copy.deepcopy(SEED_EXAMPLE)
    again["accounts"][0]["visionalert"]["licenses"][0]["code"] = "LIC-OTHER"
    reply = client.post("/_mock/seed", json=again)
    assert reply.status_code == 409
    assert "tok-a" in reply.json["detail"]
    listed = client.get("/v1/vision-alert/licenses/", headers=auth("tok-a")).json
    assert [row["code"] for row in listed] == ["LIC-A"]


def test_bad_seed_is_400_and_atomic(client):
    bad = copy.deepcopy(SEED_EXAMPLE)
    bad["accounts"].append({"token": "tok-b", "products": ["nothing"]})
    reply = client.post("/_mock/seed", json=bad)
    assert reply.status_code == 400
    assert "accounts[1].products" in reply.json
    # the first account of the rejected seed was not kept either
    assert client.get("/api/v1/parking-list/", headers=auth("tok-a")).status_code == 401


def test_seed_rejects_non_object(client):
    assert client.post("/_mock/seed", data="not json").status_code == 415  # not declared JSON
    assert client.post("/_mock/seed", json=[1, 2]).status_code == 400
    assert client.post("/_mock/seed", json={"accounts": "x"}).status_code == 400


def test_clock_set_advance_real(client):
    reply = client.post("/_mock/clock", json={"set": "2026-04-10T14:30:00Z"})
    assert reply.json == {"now": "2026-04-10T14:30:00Z", "frozen": True}
    assert client.get("/_mock/clock").json == {"now": "2026-04-10T14:30:00Z", "frozen": True}
    reply = client.post("/_mock/clock", json={"advance": 90})
    assert reply.json == {"now": "2026-04-10T14:31:30Z", "frozen": True}
    reply = client.post("/_mock/clock", json={"real": True})
    assert reply.json["frozen"] is False
    assert reply.json["now"] > "2026-04-10T14:31:30Z"


def test_clock_naive_set_is_utc_and_offsets_are_converted(client):
    reply = client.post("/_mock/clock", json={"set": "2026-04-10T16:30:00+02:00"})
    assert reply.json["now"] == "2026-04-10T14:30:00Z"


def test_clock_rejects_bad_bodies_without_change(client):
    client.post("/_mock/clock", json={"set": "2026-04-10T14:30:00Z"})
    for body in (
        {},
        {"set": "yesterday"},
        {"advance": -5},
        {"advance": "10"},
        {"real": False},
        {"set": "2026-04-10T00:00:00Z", "advance": 1},
    ):
        reply = client.post("/_mock/clock", json=body)
        assert reply.status_code == 400, body
    assert client.get("/_mock/clock").json["now"] == "2026-04-10T14:30:00Z"


def test_reset_loads_demo_or_nothing(client):
    client.post("/_mock/seed", json=SEED_EXAMPLE)
    assert client.post("/_mock/reset").status_code == 200
    assert client.get("/v1/vision-alert/licenses/", headers=auth("tok-a")).status_code == 401
    assert client.get("/v1/vision-alert/licenses/", headers=auth("demo-token")).status_code == 200
    assert client.post("/_mock/reset?seed=none").status_code == 200
    assert client.get("/v1/vision-alert/licenses/", headers=auth("demo-token")).status_code == 401
    assert client.post("/_mock/reset?seed=bogus").status_code == 400


def test_settings_roundtrip_and_validation(client):
    assert client.get("/_mock/settings").json["camera_window"] == 900.0
    reply = client.post("/_mock/settings", json={"camera_window": 10})
    assert reply.status_code == 200 and reply.json["camera_window"] == 10
    assert client.post("/_mock/settings", json={"nope": 1}).status_code == 400
    assert client.post("/_mock/settings", json={"camera_window": -1}).status_code == 400


def test_control_token(make_app):
    client = make_app(control_token="s3cret").test_client()
    assert client.get("/_mock/health").status_code == 401
    assert client.get("/_mock/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    reply = client.get("/_mock/health", headers={"Authorization": "Bearer s3cret"})
    assert reply.json == {"status": "ok"}


def test_control_plane_can_be_disabled(make_app):
    client = make_app(control_enabled=False).test_client()
    reply = client.get("/_mock/health")
    assert reply.status_code == 404 and reply.json == {"detail": "Not found."}
