"""vehicles, vehicle-tags, edit-tags, import-vehicles + task-check and trigger-alert, as
ParkPow's own tools call them, through HTTP."""

from __future__ import annotations

import io

import pytest

from ..conftest import auth
from .parkpow_support import HEADERS, advance, log_json, seed

HEADER = (
    "timezone,created_date,created_time,license_plate,region,make,model,color,type,"
    "payment_status,field1,field2,field3,field4,field5,field6,Vehicle Tags\n"
)


def csv_row(plate: str, tags: str = "", field1: str = "", payment: str = "") -> str:
    return f'UTC,2026-04-01,10:00:00,{plate},us-ca,Ford,Focus,red,Sedan,{payment},{field1},,,,,,"{tags}"\n'


@pytest.fixture
def parkpow(client):
    seed(client)
    return client


def upload(client, text: str, remove: str = "false", token_headers=HEADERS):
    """As the file-import tool: multipart ``import_file`` (text/csv) and ``remove``."""
    return client.post(
        "/api/v1/import-vehicles/",
        data={"import_file": (io.BytesIO(text.encode()), "part-1.csv", "text/csv"),
              "remove": remove},
        headers=token_headers,
        content_type="multipart/form-data",
    )  # fmt: skip


def task(client, task_id: str, token_headers=HEADERS):
    reply = client.get("/api/v1/task-check/", query_string={"task_id": task_id},
                       headers=token_headers)  # fmt: skip
    assert reply.status_code == 200, reply.json
    return reply.json


def all_pages(client, path: str, **params) -> list[dict]:
    """Follow ``next`` as-is until null, as the gate tool and the tags updater do."""
    items, url = [], path
    reply = client.get(url, query_string=params, headers=HEADERS)
    while True:
        assert reply.status_code == 200, reply.json
        items += reply.json["results"]
        if not reply.json["next"]:
            return items
        reply = client.get(reply.json["next"], headers=HEADERS)


def test_import_task_lifecycle_on_the_clock(parkpow):
    text = HEADER + csv_row("abc111", "staff,vip", "blue") + csv_row("ABC222", "staff")
    reply = upload(parkpow, text)
    assert reply.status_code == 200, reply.json
    task_id = reply.json["task_id"]
    assert task(parkpow, task_id) == {}  # pending
    advance(parkpow, 4)
    assert task(parkpow, task_id) == {}  # import_delay is 5 s of emulator time
    assert [v["license_plate"] for v in all_pages(parkpow, "/api/v1/vehicles/")] == ["QWE1234"]
    advance(parkpow, 1)
    assert task(parkpow, task_id) == {"info": {"rows": 2, "created": 2, "updated": 0}}
    listed = all_pages(parkpow, "/api/v1/vehicles/")
    assert [v["license_plate"] for v in listed] == ["QWE1234", "ABC111", "ABC222"]
    first = listed[1]
    assert list(first)[8] == "tags" and list(first.values())[8] == ["staff", "vip"]
    assert first["field1"] == "blue" and isinstance(first["id"], int)


def test_failed_import_reports_an_error_and_imports_nothing(parkpow):
    reply = upload(parkpow, HEADER + csv_row("GOOD1") + csv_row("   "))
    advance(parkpow, 5)
    outcome = task(parkpow, reply.json["task_id"])
    assert outcome == {"error": "Row 3: license_plate: This field may not be blank."}
    assert len(all_pages(parkpow, "/api/v1/vehicles/")) == 1


def test_remove_true_deletes_the_listed_plates(parkpow):
    upload(parkpow, HEADER + csv_row("RM1") + csv_row("RM2"))
    advance(parkpow, 5)
    reply = upload(parkpow, HEADER + csv_row("rm1") + csv_row("NOT-THERE"), remove="true")
    advance(parkpow, 5)
    assert task(parkpow, reply.json["task_id"]) == {"info": {"rows": 2, "removed": 1}}
    assert [v["license_plate"] for v in all_pages(parkpow, "/api/v1/vehicles/")] == [
        "QWE1234", "RM2"]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "errors"),
    [
        ({}, {"import_file": ["No file was submitted."]}),
        ({"import_file": (io.BytesIO(b""), "a.csv")}, {"import_file": ["The submitted file is empty."]}),
        ({"import_file": (io.BytesIO(b"name,colour\nx,y\n"), "a.csv")},
         {"import_file": ["Upload a CSV file (UTF-8) with a license_plate column."]}),
        ({"import_file": (io.BytesIO(b"\xff\xfe\x00bad"), "a.csv")},
         {"import_file": ["Upload a CSV file (UTF-8) with a license_plate column."]}),
        ({"import_file": (io.BytesIO(HEADER.encode()), "a.csv"), "remove": "perhaps"},
         {"remove": ["Must be a valid boolean."]}),
    ],
)  # fmt: skip
def test_import_rejects_bad_files_up_front(parkpow, files, errors):
    reply = parkpow.post("/api/v1/import-vehicles", data=files, headers=HEADERS,
                         content_type="multipart/form-data")  # fmt: skip
    assert reply.status_code == 400 and reply.json == errors


def test_task_check_errors_and_tenancy(parkpow):
    reply = parkpow.get("/api/v1/task-check/", headers=HEADERS)
    assert reply.status_code == 400 and reply.json == {"task_id": ["This field is required."]}
    assert parkpow.get("/api/v1/task-check/?task_id=nope", headers=HEADERS).status_code == 404
    task_id = upload(parkpow, HEADER + csv_row("T1")).json["task_id"]
    seed(parkpow, token="pp-b", at=None)
    other = parkpow.get(f"/api/v1/task-check/?task_id={task_id}", headers=auth("pp-b"))
    assert other.status_code == 404


def test_vehicles_and_tags_round_trip(parkpow):
    rows = "".join(csv_row(f"TAG{i:02d}", "fleet" if i % 2 else "") for i in range(7))
    upload(parkpow, HEADER + rows + csv_row("SOLO", "vip"))
    advance(parkpow, 5)
    tags = all_pages(parkpow, "/api/v1/vehicle-tags/", page_size="1")
    assert [t["name"] for t in tags] == ["fleet", "vip"]
    fleet, vip = (t["id"] for t in tags)
    fleet_plates = [v["license_plate"] for v in all_pages(parkpow, "/api/v1/vehicles/",
                                                          tags="fleet", page_size="2")]  # fmt: skip
    assert fleet_plates == ["TAG01", "TAG03", "TAG05"]
    vehicle = all_pages(parkpow, "/api/v1/vehicles/", tags="vip")[0]
    assert vehicle["license_plate"] == "SOLO"
    # as the tags updater: query parameters, empty body, success = 200
    params = {"checked": "true", "tag_id": fleet, "vehicle_id": vehicle["id"]}
    reply = parkpow.post("/api/v1/edit-tags/", query_string=params, headers=HEADERS)
    assert reply.status_code == 200
    assert reply.json == {"checked": True, "tag_id": fleet, "vehicle_id": vehicle["id"]}
    assert (
        parkpow.post("/api/v1/edit-tags", query_string=params, headers=HEADERS).status_code == 200
    )
    assert "SOLO" in [v["license_plate"] for v in all_pages(parkpow, "/api/v1/vehicles/",
                                                            tags="fleet")]  # fmt: skip
    params = {"checked": "false", "tag_id": vip, "vehicle_id": vehicle["id"]}
    assert parkpow.post("/api/v1/edit-tags/", query_string=params, headers=HEADERS).json[
        "checked"] is False  # fmt: skip
    assert all_pages(parkpow, "/api/v1/vehicles/", tags="vip") == []
    solo = [v for v in all_pages(parkpow, "/api/v1/vehicles/") if v["license_plate"] == "SOLO"]
    assert solo[0]["tags"] == ["fleet"]


def test_edit_tags_errors_and_tenancy(parkpow):
    upload(parkpow, HEADER + csv_row("E1", "t"))
    advance(parkpow, 5)
    [tag] = all_pages(parkpow, "/api/v1/vehicle-tags/")
    vehicle_id = all_pages(parkpow, "/api/v1/vehicles/", tags="t")[0]["id"]
    reply = parkpow.post("/api/v1/edit-tags/", headers=HEADERS)
    assert reply.status_code == 400 and set(reply.json) == {"checked", "tag_id", "vehicle_id"}
    bad = {"checked": "maybe", "tag_id": "x", "vehicle_id": vehicle_id}
    reply = parkpow.post("/api/v1/edit-tags/", query_string=bad, headers=HEADERS)
    assert reply.json == {"checked": ["Must be a valid boolean."],
                          "tag_id": ["A valid integer is required."]}  # fmt: skip
    unknown = {"checked": "true", "tag_id": 999, "vehicle_id": vehicle_id}
    assert (
        parkpow.post("/api/v1/edit-tags/", query_string=unknown, headers=HEADERS).status_code == 404
    )
    seed(parkpow, token="pp-b", at=None)
    theirs = {"checked": "false", "tag_id": tag["id"], "vehicle_id": vehicle_id}
    reply = parkpow.post("/api/v1/edit-tags/", query_string=theirs, headers=auth("pp-b"))
    assert reply.status_code == 404
    theirs_listed = parkpow.get("/api/v1/vehicles/", headers=auth("pp-b")).json["results"]
    assert [v["license_plate"] for v in theirs_listed] == ["QWE1234"]  # its own seed vehicle
    assert parkpow.get("/api/v1/vehicle-tags/", headers=auth("pp-b")).json["results"] == []


def test_vehicles_paging_envelope(parkpow):
    reply = parkpow.get("/api/v1/vehicles/?page=2", headers=HEADERS)
    assert reply.status_code == 404 and reply.json == {"detail": "Invalid page."}
    body = parkpow.get("/api/v1/vehicles/", headers=HEADERS).json
    assert body["estimated_count"] == 1 and body["next"] is None and body["previous"] is None


def test_trigger_alert_is_recorded_for_the_control_plane(parkpow):
    assert log_json(parkpow, "101", ["ALRT1"]).status_code == 200
    [visit] = parkpow.get("/api/v1/visit-list/?page=1", headers=HEADERS).json["results"]
    body = {"visit_id": visit["id"], "alert_template_id": 10482}
    reply = parkpow.post("/api/v1/trigger-alert/", json=body, headers=HEADERS)
    assert reply.status_code == 200 and isinstance(reply.json["alert_id"], int)
    recorded = parkpow.get(f"/_mock/parkpow/alerts?visit_id={visit['id']}").json
    assert recorded == {"alerts": [{
        "alert_id": reply.json["alert_id"], "visit_id": visit["id"], "alert_template_id": 10482,
        "license_plate": "ALRT1", "token": "pp-a", "created": "2026-04-10T14:30:00Z",
    }]}  # fmt: skip
    assert parkpow.get("/_mock/parkpow/alerts?visit_id=999").json == {"alerts": []}
    assert parkpow.get("/_mock/parkpow/alerts?visit_id=x").status_code == 400


def test_trigger_alert_errors_and_tenancy(parkpow):
    log_json(parkpow, "101", ["ALRT2"])
    [visit] = parkpow.get("/api/v1/visit-list/?page=1", headers=HEADERS).json["results"]
    for body, errors in (
        ({}, {"visit_id": ["This field is required."],
              "alert_template_id": ["This field is required."]}),
        ({"visit_id": "x", "alert_template_id": 1}, {"visit_id": ["A valid integer is required."]}),
        ({"visit_id": visit["id"], "alert_template_id": 0},
         {"alert_template_id": ["A valid integer is required."]}),
    ):  # fmt: skip
        reply = parkpow.post("/api/v1/trigger-alert/", json=body, headers=HEADERS)
        assert reply.status_code == 400 and reply.json == errors
    missing = {"visit_id": 99999, "alert_template_id": 1}
    assert parkpow.post("/api/v1/trigger-alert", json=missing, headers=HEADERS).status_code == 404
    seed(parkpow, token="pp-b", at=None)
    theirs = {"visit_id": visit["id"], "alert_template_id": 1}
    assert parkpow.post("/api/v1/trigger-alert/", json=theirs,
                        headers=auth("pp-b")).status_code == 404  # fmt: skip
    assert parkpow.get("/_mock/parkpow/alerts").json == {"alerts": []}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/vehicles", 200),
        ("GET", "/api/v1/vehicle-tags", 200),
        ("GET", "/api/v1/task-check?task_id=nope", 404),
        ("POST", "/api/v1/delete-visit", 400),
        ("POST", "/api/v1/edit-tags", 400),
        ("POST", "/api/v1/import-vehicles", 400),
        ("POST", "/api/v1/trigger-alert", 400),
        ("POST", "/api/v1/webhook-receiver", 400),
        ("GET", "/api/v1/visit-list?page=1", 200),
    ],
)
def test_every_tool_path_answers_without_its_trailing_slash(parkpow, method, path, status):
    """Each answers as its slashed path does (here: an empty request), never a redirect."""
    reply = parkpow.open(path, method=method, headers=HEADERS)
    assert reply.status_code == status, reply.data
    assert reply.mimetype == "application/json"
    assert parkpow.open(path, method=method).status_code == 401  # and needs the token
