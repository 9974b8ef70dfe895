"""The VisionAlert read API: fields, filters and tenancy, as the seed documents them."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from mockserver.testkit import seeds

from ..conftest import auth
from .va_rows import (
    VA,
    get,
    image_bytes,
    insert_alert,
    insert_log,
    relative,
    seed_account,
    set_clock,
    store_media,
    world,
)

CAMERA_FIELDS = [
    "id",
    "serial",
    "name",
    "license",
    "tags",
    "notes",
    "latest_status",
    "created",
    "modified",
]
LOG_FIELDS = ["id", "camera_serial", "camera_name", "status", "anomalies", "snapshot", "created"]
ALERT_FIELDS = ["id", "license", "sent", "cameras", "created"]
ALERT_CAMERA_FIELDS = ["serial", "name", "status", "anomalies", "snapshot", "reference_image"]
STATUSES = ["normal", "anomaly", "under_review", "offline", "config_issue", "pending_retry"]


@pytest.fixture
def site(client, app):
    """Account tok-a with LIC-A (cameras C1 tagged site-a+floor-1, C2 tagged site-b, C3
    untagged) and LIC-B (camera B1); account tok-b with LIC-Z. Clock at 2026-04-10 15:00Z."""
    set_clock(client, "2026-01-15T10:30:00Z")
    ids = seed_account(
        client,
        "tok-a",
        [
            {
                "code": "LIC-A",
                "size": 50,
                "va_type": "meraki",
                "expiration": "2027-01-15T00:00:00Z",
                "cameras": [
                    {
                        "serial": "C1",
                        "name": "Front Entrance",
                        "tags": ["site-a", "floor-1"],
                        "notes": "Installed 2026-01-15",
                    },
                    {"serial": "C2", "name": "Parking Lot B", "tags": ["site-b"]},
                    {"serial": "C3", "name": "Back Door"},
                ],
            },
            {
                "code": "LIC-B",
                "size": 5,
                "va_type": "nx",
                "created": "2026-02-01T00:00:00Z",
                "cameras": [{"serial": "B1", "name": "Lobby", "tags": ["floor-1"]}],
            },
        ],
    )
    ids.update(seed_account(client, "tok-b", [{"code": "LIC-Z", "cameras": [{"serial": "Z1"}]}]))
    set_clock(client, "2026-04-10T15:00:00Z")
    return ids


def test_licenses_bare_array_newest_first(client, site):
    reply = get(client, f"{VA}/licenses/")
    assert reply.status_code == 200
    assert [lic["code"] for lic in reply.json] == ["LIC-B", "LIC-A"]
    first = reply.json[1]
    assert list(first) == ["id", "code", "size", "va_type", "expiration", "created", "modified"]
    assert first == {
        "id": site["LIC-A"],
        "code": "LIC-A",
        "size": 50,
        "va_type": "meraki",
        "expiration": "2027-01-15T00:00:00Z",
        "created": "2026-01-15T10:30:00Z",
        "modified": "2026-01-15T10:30:00Z",
    }
    assert [lic["code"] for lic in get(client, f"{VA}/licenses/", "tok-b").json] == ["LIC-Z"]


def test_camera_fields_in_the_seed_order(client, app, site):
    lic = site["LIC-A"]
    insert_log(app, lic, "C1", "2026-04-10T14:30:00Z", "anomaly", {"Blur": 0.87})
    reply = get(client, f"{VA}/{lic}/cameras/")
    assert reply.status_code == 200
    assert list(reply.json) == ["next", "previous", "results"]
    by_serial = {c["serial"]: c for c in reply.json["results"]}
    c1 = by_serial["C1"]
    assert list(c1) == CAMERA_FIELDS
    assert c1["name"] == "Front Entrance"
    assert c1["license"] == "LIC-A"
    assert c1["tags"] == ["site-a", "floor-1"]  # the order they were assigned in
    assert c1["notes"] == "Installed 2026-01-15"
    assert c1["latest_status"] == "anomaly"
    assert c1["created"] == "2026-01-15T10:30:00Z"
    assert by_serial["C3"]["tags"] == [] and by_serial["C3"]["notes"] == ""
    assert by_serial["C3"]["latest_status"] is None
    assert set(by_serial) == {"C1", "C2", "C3"}  # only this license's cameras


def test_camera_status_filter(client, app, site):
    lic = site["LIC-A"]
    insert_log(app, lic, "C1", "2026-04-10T14:30:00Z", "anomaly")
    insert_log(app, lic, "C2", "2026-04-10T14:31:00Z", "offline")

    def serials(query):
        reply = get(client, f"{VA}/{lic}/cameras/?{query}")
        assert reply.status_code == 200, reply.json
        return {c["serial"] for c in reply.json["results"]}

    assert serials("status=anomaly") == {"C1"}
    assert serials("status=offline") == {"C2"}
    assert serials("status=no_data") == {"C3"}
    assert serials("status=normal") == set()
    assert serials("status=") == {"C1", "C2", "C3"}
    for status in STATUSES:
        assert get(client, f"{VA}/{lic}/cameras/?status={status}").status_code == 200
    reply = get(client, f"{VA}/{lic}/cameras/?status=broken")
    assert reply.status_code == 400
    assert reply.json == {
        "status": ["Select a valid choice. broken is not one of the available choices."]
    }


def test_log_fields_and_snapshot_url(client, app, site):
    lic = site["LIC-A"]
    content = image_bytes()
    snapshot = store_media(app, content)
    insert_log(app, lic, "C1", "2026-04-10T14:30:00Z", "anomaly", {"Blur": 0.87}, snapshot)
    insert_log(app, lic, "C2", "2026-04-10T14:15:00Z", "offline")
    reply = get(client, f"{VA}/{lic}/logs/")
    first, second = reply.json["results"]
    assert list(first) == LOG_FIELDS
    assert first["camera_serial"] == "C1" and first["camera_name"] == "Front Entrance"
    assert first["status"] == "anomaly" and first["anomalies"] == {"Blur": 0.87}
    assert first["created"] == "2026-04-10T14:30:00Z"
    assert first["snapshot"].startswith("http://localhost/media/camera_snapshot/")
    image = client.get(relative(first["snapshot"]))
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data == content
    assert second["anomalies"] == {} and second["snapshot"] is None


def test_camera_logs_only_that_camera_and_status_filter(client, app, site):
    lic = site["LIC-A"]
    insert_log(app, lic, "C1", "2026-04-10T10:00:00Z", "normal")
    insert_log(app, lic, "C1", "2026-04-10T11:00:00Z", "anomaly")
    insert_log(app, lic, "C2", "2026-04-10T12:00:00Z", "anomaly")
    reply = get(client, f"{VA}/{lic}/cameras/C1/logs/")
    assert [log["camera_serial"] for log in reply.json["results"]] == ["C1", "C1"]
    assert [log["created"] for log in reply.json["results"]] == [
        "2026-04-10T11:00:00Z",
        "2026-04-10T10:00:00Z",
    ]
    reply = get(client, f"{VA}/{lic}/cameras/C1/logs/?status=anomaly")
    assert [log["status"] for log in reply.json["results"]] == ["anomaly"]
    reply = get(client, f"{VA}/{lic}/cameras/C1/logs/?status=nope")
    assert reply.status_code == 400 and list(reply.json) == ["status"]
    # serial/tag are not parameters of camera logs: ignored
    reply = get(client, f"{VA}/{lic}/cameras/C1/logs/?serial=C2&tag=none")
    assert len(reply.json["results"]) == 2


def test_license_log_filters(client, app, site):
    lic = site["LIC-A"]
    insert_log(app, lic, "C1", "2026-04-10T10:00:00Z", "normal")
    insert_log(app, lic, "C1", "2026-04-10T11:00:00Z", "anomaly")
    insert_log(app, lic, "C2", "2026-04-10T12:00:00Z", "anomaly")
    insert_log(app, lic, "C3", "2026-04-10T13:00:00Z", "under_review")
    insert_log(app, site["LIC-B"], "B1", "2026-04-10T13:30:00Z", "anomaly")

    def listed(query):
        reply = get(client, f"{VA}/{lic}/logs/?{query}")
        assert reply.status_code == 200, reply.json
        return [(log["camera_serial"], log["status"]) for log in reply.json["results"]]

    assert listed("") == [
        ("C3", "under_review"),
        ("C2", "anomaly"),
        ("C1", "anomaly"),
        ("C1", "normal"),
    ]
    assert listed("status=anomaly") == [("C2", "anomaly"), ("C1", "anomaly")]
    assert listed("serial=C1") == [("C1", "anomaly"), ("C1", "normal")]
    assert listed("serial=C1&status=normal") == [("C1", "normal")]
    assert listed("serial=B1") == []  # another license's camera
    assert listed("serial=unknown") == []
    assert listed("tag=site-a") == [("C1", "anomaly"), ("C1", "normal")]
    assert listed("tag=floor-1") == [("C1", "anomaly"), ("C1", "normal")]  # not B1's license
    assert listed("tag=site-b&status=anomaly") == [("C2", "anomaly")]
    assert listed("tag=nope") == []
    assert listed("status=no_data") == []
    reply = get(client, f"{VA}/{lic}/logs/?status=Anomaly")
    assert reply.status_code == 400
    assert reply.json == {
        "status": ["Select a valid choice. Anomaly is not one of the available choices."]
    }


def test_alert_fields_and_images_at_alert_time(client, app, site):
    lic = site["LIC-A"]
    snapshot = store_media(app, image_bytes((200, 10, 10)))
    reference = store_media(app, image_bytes((10, 200, 10)), "camera_reference")
    insert_alert(
        app,
        lic,
        "2026-04-10T15:00:00Z",
        [
            {
                "serial": "C1",
                "name": "Front Entrance",
                "status": "Anomaly",
                "anomalies": {"Blur": 0.87},
                "snapshot_id": snapshot,
                "reference_id": reference,
            },
            {"serial": "C2", "name": "Parking Lot B", "status": "Offline"},
        ],
        sent=True,
    )
    insert_alert(app, lic, "2026-04-10T16:00:00Z", [{"serial": "C3"}], emitted=False)
    reply = get(client, f"{VA}/{lic}/alerts/")
    assert reply.status_code == 200
    (alert,) = reply.json["results"]  # the unemitted alert is not visible yet
    assert list(alert) == ALERT_FIELDS
    assert alert["license"] == "LIC-A" and alert["sent"] is True
    assert alert["created"] == "2026-04-10T15:00:00Z"
    first, second = alert["cameras"]
    assert list(first) == ALERT_CAMERA_FIELDS
    assert first["status"] == "Anomaly" and first["anomalies"] == {"Blur": 0.87}
    assert "/media/camera_snapshot/" in first["snapshot"]
    assert "/media/camera_reference/" in first["reference_image"]
    assert client.get(relative(first["reference_image"])).status_code == 200
    assert second == {
        "serial": "C2",
        "name": "Parking Lot B",
        "status": "Offline",
        "anomalies": {},
        "snapshot": None,
        "reference_image": None,
    }


def test_alert_filters(client, app, site):
    lic = site["LIC-A"]
    sent = insert_alert(app, lic, "2026-04-10T15:00:00Z", [{"serial": "C1"}], sent=True)
    unsent = insert_alert(app, lic, "2026-04-10T15:30:00Z", [{"serial": "C2"}], sent=False)
    insert_alert(app, site["LIC-B"], "2026-04-10T15:40:00Z", [{"serial": "B1"}], sent=True)

    def listed(query):
        reply = get(client, f"{VA}/{lic}/alerts/?{query}")
        assert reply.status_code == 200, reply.json
        return [alert["id"] for alert in reply.json["results"]]

    assert listed("") == [unsent, sent]
    for value in ("true", "True", "TRUE", "1"):
        assert listed(f"sent={value}") == [sent]
    for value in ("false", "False", "0"):
        assert listed(f"sent={value}") == [unsent]
    assert listed("sent=") == [unsent, sent]
    assert listed("license=LIC-A") == [unsent, sent]
    assert listed("license=LIC-B") == []  # another license's code: nothing under this one
    assert listed("license=LIC-A&sent=false") == [unsent]
    for value in ("yes", "2", "t", "maybe"):
        reply = get(client, f"{VA}/{lic}/alerts/?sent={value}")
        assert reply.status_code == 400
        assert reply.json == {"sent": ["Must be a valid boolean."]}


ENDPOINTS = ["cameras/", "logs/", "alerts/", "cameras/C1/logs/", "cameras/C1/reference/"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_tenancy(client, site, path):
    mine, theirs = site["LIC-A"], site["LIC-Z"]
    assert get(client, f"{VA}/{mine}/{path}").status_code == 200
    reply = get(client, f"{VA}/{theirs}/{path.replace('C1', 'Z1')}")
    assert reply.status_code == 403
    assert reply.json == {"detail": "You do not have permission to perform this action."}
    for missing in ("999999", "abc", "-1", "1.0", "99999999999999999999999", "%20" + str(mine)):
        reply = get(client, f"{VA}/{missing}/{path}")
        assert reply.status_code == 404, missing
        assert reply.json == {"detail": "Not found."}
    reply = client.get(f"{VA}/{theirs}/{path}")
    assert reply.status_code == 401  # authentication before anything else
    # a bad parameter does not hide a tenancy error
    reply = get(client, f"{VA}/{theirs}/{path.replace('C1', 'Z1')}?status=bad&cursor=bad")
    assert reply.status_code == 403


def test_serial_not_under_the_license_is_404(client, site):
    lic = site["LIC-A"]
    for serial in ("B1", "Z1", "nope", "c1"):
        for path in ("logs/", "reference/"):
            reply = get(client, f"{VA}/{lic}/cameras/{serial}/{path}")
            assert reply.status_code == 404, (serial, path)
            assert reply.json == {"detail": "Not found."}
        assert client.delete(
            f"{VA}/{lic}/cameras/{serial}/", headers=auth("tok-a")
        ).status_code == (404)


def test_product_not_enabled_is_403(client, site):
    client.post("/_mock/seed", json={"accounts": [{"token": "pp", "products": ["parkpow"]}]})
    assert get(client, f"{VA}/{site['LIC-A']}/cameras/", "pp").status_code == 403


def test_a_page_costs_a_constant_number_of_queries(client, app, site):
    cameras = [seeds.camera(f"K{i}", tags=["t1", "t2", f"own-{i}"]) for i in range(60)]
    big = seeds.account(
        "tok-big",
        products=["visionalert"],
        rate_limit_per_second=1,
        licenses=[seeds.license("LIC-BIG", size=100, cameras=cameras)],
    )
    client.post("/_mock/seed", json=seeds.world(big))
    lic = get(client, f"{VA}/licenses/", "tok-big").json[0]["id"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = world(app).store.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        counts = {}
        for size in (5, 50):
            statements.clear()
            reply = get(client, f"{VA}/{lic}/cameras/?page_size={size}", "tok-big")
            assert len(reply.json["results"]) == size
            assert all(len(c["tags"]) == 3 for c in reply.json["results"])
            counts[size] = len([s for s in statements if "va_" in s])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # the license, the page, its cameras' tags, and when the next log appears (how long
    # the read cache may keep the reply)
    assert counts[5] == counts[50] <= 4
