"""The seed-document builder: what it writes, and that the emulator reads it as meant."""

from __future__ import annotations

from mockserver.testkit import seeds

from ..conftest import auth


def test_left_out_fields_are_left_out_and_none_is_null():
    assert seeds.license("L") == {"code": "L"}
    assert seeds.camera("C") == {"serial": "C"}
    assert seeds.parking("lot") == {"name": "lot"}
    assert seeds.parking_camera("G") == {"code": "G"}
    assert seeds.license("L", webhook_url=None) == {"code": "L", "webhook_url": None}
    assert seeds.account("tok") == {
        "token": "tok",
        "products": ["parkpow", "visionalert"],
        "rate_limit_per_second": None,
    }


def test_a_built_world_is_the_world_the_emulator_serves(client):
    world = seeds.world(
        seeds.account(
            "tok-built",
            licenses=[
                seeds.license(
                    "LIC-BUILT",
                    size=7,
                    cameras=[seeds.camera("C1", name="Front", tags=["site-a"]), seeds.camera("C2")],
                )
            ],
            parkings=[
                seeds.parking(
                    "lot",
                    parking_spaces=12,
                    cameras=[seeds.parking_camera("101", name="gate", type="ENTRANCE")],
                )
            ],
            vehicles=[seeds.vehicle("abc123", payment_status="0")],
        ),
        seeds.account("tok-pp", products=["parkpow"], rate_limit_per_second=1),
    )
    reply = client.post("/_mock/seed", json=world)
    assert reply.status_code == 201, reply.json
    assert [a["token"] for a in reply.json["accounts"]] == ["tok-built", "tok-pp"]
    (lic,) = client.get("/v1/vision-alert/licenses/", headers=auth("tok-built")).json
    assert (lic["code"], lic["size"]) == ("LIC-BUILT", 7)
    cameras = client.get(f"/v1/vision-alert/{lic['id']}/cameras/", headers=auth("tok-built"))
    by_serial = {c["serial"]: c for c in cameras.json["results"]}
    assert (by_serial["C1"]["name"], by_serial["C1"]["tags"]) == ("Front", ["site-a"])
    assert (by_serial["C2"]["name"], by_serial["C2"]["tags"]) == ("C2", [])  # emulator defaults
    (parking,) = client.get("/api/v1/parking-list/", headers=auth("tok-built")).json
    assert parking["name"] == "lot"
    rate = "/_mock/accounts/{}/rate-limit"
    assert client.get(rate.format("tok-built")).json["rate_limit_per_second"] is None
    assert client.get(rate.format("tok-pp")).json["rate_limit_per_second"] == 1
    assert client.get("/v1/vision-alert/licenses/", headers=auth("tok-pp")).status_code == 403
