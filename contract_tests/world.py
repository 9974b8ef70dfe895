"""The data the contract suite runs on, and what it knows about it.

Against the in-process emulator the suite builds its own world through the public API
and the control plane: accounts for every tenancy case, a license with more than 200
cameras (so a missing page-size clamp shows), logs spread over two days (so date filters
have rows on both sides of every boundary), alerts, and ParkPow visits. Against a live
server it only *discovers* what the token can see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from mockserver.testkit import seeds

from . import images

TOKEN = "contract-token"
OTHER_TOKEN = "contract-other"
THROTTLED_TOKEN = "contract-throttled"
PARKPOW_ONLY_TOKEN = "contract-parkpow-only"
START = "2026-04-08T09:00:00Z"
BIG_LICENSE_CAMERAS = 230


@dataclass
class Facts:
    """What the suite knows about the target: ids and names that exist for its token."""

    token: str
    license_id: int | None = None
    license_code: str | None = None
    serials: list[str] = field(default_factory=list)
    big_license_id: int | None = None
    camera_codes: list[str] = field(default_factory=list)
    entrance_codes: list[str] = field(default_factory=list)
    exit_codes: list[str] = field(default_factory=list)
    other_license_id: int | None = None  # a license of another account (403)
    throttled_token: str | None = None  # an account with the 1/s create-log throttle
    parkpow_only_token: str | None = None  # VisionAlert not enabled (403)
    owned_serials: list[str] = field(default_factory=list)  # cameras the suite may delete
    # ParkPow, beyond the published document (the vendor's tools' endpoints)
    visit_ids: list[int] = field(default_factory=list)
    owned_visit_ids: list[int] = field(default_factory=list)  # visits the suite may delete
    vehicle_ids: list[int] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)


def contract_seed() -> dict:
    """Accounts for every case the contract names; the main one unthrottled."""
    big = [seeds.camera(f"BULK-{i:04d}", name=f"Bulk {i}") for i in range(BIG_LICENSE_CAMERAS)]
    return seeds.world(
        seeds.account(
            TOKEN,
            licenses=[
                seeds.license(
                    "LIC-CONTRACT-1",
                    size=50,
                    va_type="meraki",
                    expiration="2099-01-15T00:00:00Z",
                    notify_email="ops@example.com",
                    cameras=[
                        seeds.camera(
                            "Q2GV-ABCD-1234",
                            name="Front Entrance",
                            tags=["site-a", "floor-1"],
                            notes="Installed 2026-01-15",
                        ),
                        seeds.camera("Q2GV-EFGH-5678", name="Parking Lot B", tags=["site-a"]),
                        seeds.camera("C1", name="Front", tags=["site-b"], notes=""),
                    ],
                ),
                seeds.license(
                    "LIC-CONTRACT-BULK",
                    size=300,
                    va_type="openeye",
                    expiration="2099-01-15T00:00:00Z",
                    cameras=big,
                ),
            ],
            parkings=[
                seeds.parking(
                    "first-parking",
                    parking_spaces=100,
                    absent_timer=3,
                    cameras=[
                        seeds.parking_camera("101", name="cam-101", type="ENTRANCE", notes="notes"),
                        seeds.parking_camera("102", name="cam-102", type="EXIT", notes="notes"),
                        seeds.parking_camera("103", name="cam-103", type="SPOT"),
                    ],
                ),
                seeds.parking(
                    "second-parking",
                    parking_spaces=120,
                    absent_timer=3,
                    cameras=[seeds.parking_camera("202", name="cam-202", type="ENTRANCE")],
                ),
            ],
            vehicles=[seeds.vehicle("QWE1234", payment_status="0")],
        ),
        seeds.account(
            OTHER_TOKEN,
            rate_limit_per_second=1,
            licenses=[seeds.license("LIC-OTHER", cameras=[seeds.camera("OTHER-1")])],
        ),
        seeds.account(
            THROTTLED_TOKEN,
            products=["visionalert"],
            rate_limit_per_second=1,
            licenses=[seeds.license("LIC-THROTTLED", size=10)],
        ),
        seeds.account(PARKPOW_ONLY_TOKEN, products=["parkpow"], rate_limit_per_second=1),
    )


def _auth(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


def build(client) -> Facts:
    """Seed the emulator behind ``client`` (a Flask test client) and fill it with history."""
    reply = client.post("/_mock/reset?seed=none")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    client.post("/_mock/clock", json={"set": START})
    reply = client.post("/_mock/seed", json=contract_seed())
    assert reply.status_code == 201, reply.get_data(as_text=True)
    licenses = {
        lic["code"]: lic["id"] for account in reply.json["accounts"] for lic in account["licenses"]
    }
    frames = images.frames()
    # Two days of uploads: hourly-ish, across midnight, normal frames and an obstructed one.
    for step in range(6):
        for index, serial in enumerate(("Q2GV-ABCD-1234", "Q2GV-EFGH-5678", "C1")):
            frame = images.obstructed_frame() if (step + index) % 4 == 3 else frames[step % 5]
            client.post(
                "/v1/vision-alert/create-log/",
                data={"camera_id": serial, "tag": "site-a", "upload": (_file(frame), "frame.jpg")},
                headers=_auth(TOKEN),
                content_type="multipart/form-data",
            )
        client.post("/_mock/clock", json={"advance": 5 * 3600 + 17})
    # Vehicles: an entrance then an exit, and a spot sighting.
    plate_log = [("101", "ABC1234", 0), ("102", "ABC1234", 2400), ("103", "XYZ987", 60)]
    for code, plate, advance in plate_log:
        client.post("/_mock/clock", json={"advance": advance})
        client.post(
            "/api/v1/log-vehicle/",
            data={
                "camera": code,
                "results": json.dumps([{"plate": plate, "score": 0.9}]),
                "image": (_file(frames[0]), "car.jpg"),
            },
            headers=_auth(TOKEN),
            content_type="multipart/form-data",
        )
    task_ids = _parkpow_tools_history(client, frames[1])
    client.post("/_mock/clock", json={"advance": 600})
    facts = discover(client, TOKEN)
    facts.task_ids = task_ids
    facts.owned_visit_ids = list(facts.visit_ids)
    facts.big_license_id = licenses.get("LIC-CONTRACT-BULK")
    facts.other_license_id = licenses.get("LIC-OTHER")
    facts.throttled_token = THROTTLED_TOKEN
    facts.parkpow_only_token = PARKPOW_ONLY_TOKEN
    facts.owned_serials = list(facts.serials)
    return facts


def _parkpow_tools_history(client, frame: bytes) -> list[str]:
    """A Stream webhook visit and a vehicle import with tags (due within the next advance)."""
    payload = {
        "hook": {"id": "101", "event": "recognition"},
        "data": {"camera_id": "101", "timestamp": "2026-04-09T16:00:00Z",
                 "results": [{"plate": "STR3AM", "score": 0.9}]},
    }  # fmt: skip
    client.post(
        "/api/v1/webhook-receiver/",
        data={"json": json.dumps(payload), "upload": (_file(frame), "frame.jpg")},
        headers=_auth(TOKEN),
        content_type="multipart/form-data",
    )
    rows = 'license_plate,field1,Vehicle Tags\nQWE1234,blue,staff\nTAG001,,"staff,vip"\n'
    reply = client.post(
        "/api/v1/import-vehicles/",
        data={"import_file": (_file(rows.encode()), "vehicles.csv"), "remove": "false"},
        headers=_auth(TOKEN),
        content_type="multipart/form-data",
    )
    return [reply.json["task_id"]] if reply.status_code == 200 else []


def _file(data: bytes):
    import io

    return io.BytesIO(data)


def discover(client, token: str) -> Facts:
    """What ``token`` sees: its first license, that license's cameras, its ParkPow cameras.

    ``client`` needs ``get(path, headers=...)`` returning an object with ``status_code``
    and ``json`` (Flask's test client, or :class:`LiveClient`).
    """
    facts = Facts(token=token)
    reply = client.get("/v1/vision-alert/licenses/", headers=_auth(token))
    licenses = _json(reply) if reply.status_code == 200 else []
    if licenses:
        # The license with the fewest cameras first: the bulk one is for pagination only.
        chosen = None
        for lic in sorted(licenses, key=lambda item: item["id"]):
            if not lic["code"].endswith("BULK"):
                chosen = lic
                break
        chosen = chosen or licenses[-1]
        facts.license_id, facts.license_code = chosen["id"], chosen["code"]
        reply = client.get(
            f"/v1/vision-alert/{facts.license_id}/cameras/?page_size=200", headers=_auth(token)
        )
        if reply.status_code == 200:
            facts.serials = [camera["serial"] for camera in _json(reply)["results"]]
    reply = client.get("/api/v1/parking-list/", headers=_auth(token))
    if reply.status_code == 200:
        for parking in _json(reply):
            for camera in parking.get("camera_set", []):
                facts.camera_codes.append(camera["code"])
                if camera.get("type") == "Entrance":
                    facts.entrance_codes.append(camera["code"])
                elif camera.get("type") == "Exit":
                    facts.exit_codes.append(camera["code"])
    _discover_parkpow_tools(client, token, facts)
    return facts


def _discover_parkpow_tools(client, token: str, facts: Facts) -> None:
    """Visit, vehicle and tag ids through the live page forms (absent on older servers)."""
    for path, target in (
        ("/api/v1/visit-list/?start=1971-01-01&page_size=50", facts.visit_ids),
        ("/api/v1/vehicles/?page_size=50", facts.vehicle_ids),
        ("/api/v1/vehicle-tags/?page_size=50", facts.tag_ids),
    ):
        reply = client.get(path, headers=_auth(token))
        body = _json(reply) if reply.status_code == 200 else None
        if isinstance(body, dict):
            target.extend(item["id"] for item in body.get("results", []) if "id" in item)


def _json(reply):
    value = reply.json
    return value() if callable(value) else value
