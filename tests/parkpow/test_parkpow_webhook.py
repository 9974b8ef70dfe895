"""webhook-receiver through HTTP: the three body forms, both result modes, Snapshot's event,
back-dated timestamps, entrance/exit pairs, the minimum score, and malformed payloads."""

from __future__ import annotations

import base64
import json

import pytest

from ..conftest import auth
from .parkpow_support import HEADERS, MEDIA_URL, advance, jpeg, multipart, seed, visits

PATH = "/api/v1/webhook-receiver/"


def stream_payload(camera: str, plate: str | None, timestamp: str, score: float = 0.902) -> dict:
    """A Stream ``recognition`` payload in plate mode, as the vendor's webhook tester sends."""
    return {
        "hook": {"target": "http://x/api/v1/webhook-receiver/", "id": camera,
                 "event": "recognition", "filename": f"{camera}_screenshots/a.jpg"},
        "data": {
            "camera_id": camera,
            "filename": f"{camera}_screenshots/a.jpg",
            "timestamp": timestamp,
            "timestamp_local": timestamp.replace("T", " ").replace("Z", "+00:00"),
            "timestamp_camera": None,
            "results": [] if plate is None else [{
                "plate": plate, "score": score, "dscore": 0.757,
                "box": {"xmin": 337, "ymin": 270, "xmax": 412, "ymax": 305},
                "region": {"code": "us-ca", "score": 0.179},
                "candidates": [{"plate": plate, "score": score}],
                "vehicle": {"type": "Sedan", "score": 0.709,
                            "box": {"xmin": 155, "ymin": 71, "xmax": 590, "ymax": 373}},
                "model_make": [{"make": "Porsche", "model": "911", "score": 0.43}],
                "color": [{"color": "red", "score": 0.699}],
                "orientation": [{"orientation": "Rear", "score": 0.883}],
                "direction": 210, "source_url": "/user-data/video.mp4", "position_sec": 23.47,
            }],
        },
    }  # fmt: skip


def vehicle_result(plate: str | None, score: float = 0.905) -> dict:
    """A Stream vehicle-mode result: ``plate`` an object with ``props``, or null."""
    plate_object = None
    if plate is not None:
        plate_object = {
            "type": "Plate", "score": 0.592,
            "box": {"xmin": 231, "ymin": 238, "xmax": 305, "ymax": 266},
            "props": {"plate": [{"value": plate, "score": score}],
                      "region": [{"value": "bg", "score": 0.795}]},
        }  # fmt: skip
    return {
        "plate": plate_object,
        "vehicle": {"type": "Sedan", "score": 0.834,
                    "box": {"xmin": 231, "ymin": 131, "xmax": 1070, "ymax": 523},
                    "props": {"make_model": [{"make": "BMW", "model": "5 Series", "score": 0.55}],
                              "orientation": [{"value": "Front", "score": 0.937}],
                              "color": [{"value": "silver", "score": 0.877}]}},
        "direction": 180, "speed": None, "speed_score": 0, "source_url": "rtsp://cam",
        "position_sec": 34.94, "user_data": "",
    }  # fmt: skip


def post_multipart(client, payload: dict, image: bytes | None = None, token_headers=HEADERS):
    """Stream with ``image = yes``: multipart ``json`` + ``upload``, as ``requests`` sends it."""
    files = {"upload": ("taxi.jpg", image if image is not None else jpeg(), "image/jpeg")}
    body, content_type = multipart({"json": json.dumps(payload)}, files)
    return client.post(PATH, data=body, content_type=content_type, headers=token_headers)


def post_form(client, payload: dict):
    """Stream "data only": one urlencoded field ``json``."""
    return client.post(PATH, data={"json": json.dumps(payload)}, headers=HEADERS)


def post_json(client, payload: dict, path: str = PATH):
    """Snapshot "data only" and the webhook middleware: the payload as the JSON body."""
    return client.post(path, json=payload, headers=HEADERS)


@pytest.fixture
def parkpow(client):
    seed(client)
    return client


def test_multipart_with_image_opens_a_visit_and_replies_the_live_visit(parkpow):
    reply = post_multipart(parkpow, stream_payload("101", "pl8rec", "2026-04-10T14:29:00.5Z"))
    assert reply.status_code == 200, reply.json
    [visit] = reply.json
    assert isinstance(visit["id"], int)
    assert visit["status"] == "Created - New visit created"
    assert visit["vehicle"]["license_plate"] == "PL8REC"
    assert visit["start_cam"] == {"code": "101", "name": "cam-101", "type": 0,
                                  "latitude": None, "longitude": None, "notes": "notes"}  # fmt: skip
    assert visit["start_date"] == "2026-04-10T14:29:00.500000+00:00"
    assert visit["start_data"]["color"] == [{"color": "red", "score": 0.699}]
    assert visit["start_orientation"] == 1 and visit["start_direction"] == 210
    assert visit["score"] == 0.902 and visit["end_date"] is None and visit["duration"] is None
    assert MEDIA_URL.match(visit["start_img"])
    image = parkpow.get(visit["start_img"])
    assert image.status_code == 200 and image.data == jpeg()
    [listed] = visits(parkpow)
    assert listed["id"] == visit["id"] and listed["start_date"] == "2026-04-10T14:29:00.500000"


def test_data_only_form_field_keeps_no_image(parkpow):
    reply = post_form(parkpow, stream_payload("101", "abc123", "2026-04-10T14:29:00Z"))
    assert reply.status_code == 200, reply.json
    assert reply.json[0]["start_img"] is None
    assert visits(parkpow)[0]["start_img"] == "None"


def test_json_body_with_unknown_keys_is_read(parkpow):
    payload = stream_payload("101", "abc123", "2026-04-10T14:29:00Z")
    payload["webhook_header"] = {"Authorization": "Token elsewhere"}  # the middleware adds it
    payload["data"]["something_new"] = [1, 2]
    payload["upload"] = {"not": "a file"}  # a JSON body is the payload: no form fields in it
    reply = post_json(parkpow, payload, path="/api/v1/webhook-receiver")  # no trailing slash
    assert reply.status_code == 200, reply.json
    assert reply.json[0]["vehicle"]["license_plate"] == "ABC123"


def test_entrance_then_exit_make_one_visit_with_back_dated_timestamps(parkpow):
    """Times come from the payload, hours before the emulator's now (a replayed buffer)."""
    entered = post_multipart(parkpow, stream_payload("101", "qwe1234", "2026-04-10T10:00:00Z"))
    left = post_multipart(parkpow, stream_payload("102", "qwe1234", "2026-04-10T10:45:30Z"))
    assert entered.status_code == left.status_code == 200
    assert entered.json[0]["id"] == left.json[0]["id"]
    assert left.json[0]["status"] == "Closed - Visit closed"
    assert left.json[0]["end_cam"]["type"] == 1 and left.json[0]["duration"] == 45.5
    [visit] = visits(parkpow, start="2026-04-10")
    assert visit["start_date"] == "2026-04-10T10:00:00.000000"
    assert visit["end_date"] == "2026-04-10T10:45:30.000000"
    assert visit["duration"] == 45.5 and visit["vehicle"]["status"] == "Authorized"


def test_exit_without_an_open_visit_answers_without_an_id(parkpow):
    reply = post_json(parkpow, stream_payload("102", "nobody1", "2026-04-10T14:00:00Z"))
    assert reply.status_code == 200
    assert reply.json == [
        {"status": "Ignored - No open visit to close", "plate": "nobody1", "score": 0.902}
    ]
    assert visits(parkpow) == []


def test_vehicle_mode_results_and_null_plates(parkpow):
    payload = stream_payload("101", None, "2026-04-10T14:10:00Z")
    payload["data"]["results"] = [vehicle_result("smm1439"), vehicle_result(None)]
    reply = post_multipart(parkpow, payload)
    assert reply.status_code == 200, reply.json
    opened, unread = reply.json
    assert opened["vehicle"]["license_plate"] == "SMM1439"
    assert opened["start_data"]["vehicle"]["props"]["color"][0]["value"] == "silver"
    assert opened["start_orientation"] == 0 and opened["score"] == 0.905
    assert unread == {"status": "Ignored - No license plate read", "plate": None, "score": None}
    assert [v["vehicle"]["license_plate"] for v in visits(parkpow)] == ["SMM1439"]


def test_only_null_plates_open_nothing(parkpow):
    payload = stream_payload("101", None, "2026-04-10T14:10:00Z")
    payload["data"]["results"] = [vehicle_result(None)]
    reply = post_form(parkpow, payload)
    assert reply.status_code == 200
    assert [item["status"] for item in reply.json] == ["Ignored - No license plate read"]
    assert visits(parkpow) == []


def test_snapshot_image_done_with_null_camera_uses_the_hook_id(parkpow):
    payload = {
        "hook": {"target": "http://x/api/v1/webhook-receiver/", "id": 2, "event": "image.done"},
        "data": {"processing_time": 71.2, "timestamp": "2026-04-10T14:20:00.123456Z",
                 "results": [{"plate": "nhk552", "score": 0.9, "dscore": 0.8,
                              "box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}}],
                 "filename": "1617_car.jpg", "version": 1, "camera_id": None},
    }  # fmt: skip
    reply = post_json(parkpow, payload)
    assert reply.status_code == 200, reply.json
    assert reply.json[0]["start_cam"]["code"] == "2"
    assert reply.json[0]["start_cam"]["type"] == 2  # registered as a SPOT camera
    assert reply.json[0]["start_date"] == "2026-04-10T14:20:00.123456+00:00"


def test_snapshot_base64_upload_field_is_an_image(parkpow):
    payload = stream_payload("101", "b64img", "2026-04-10T14:20:00Z")
    body, content_type = multipart(
        {"json": json.dumps(payload), "upload": base64.b64encode(jpeg()).decode()}, {}
    )
    reply = parkpow.post(PATH, data=body, content_type=content_type, headers=HEADERS)
    assert reply.status_code == 200, reply.json
    assert MEDIA_URL.match(reply.json[0]["start_img"])


def test_repeated_sighting_keeps_the_visit_alive(parkpow):
    first = post_json(parkpow, stream_payload("101", "keep1", "2026-04-10T14:29:00Z"))
    again = post_json(parkpow, stream_payload("101", "keep1", "2026-04-10T14:29:30Z"))
    assert first.json[0]["id"] == again.json[0]["id"]
    assert again.json[0]["status"] == "Updated - Visit updated"
    assert again.json[0]["last_spotted"] == "2026-04-10T14:29:30.000000+00:00"


def test_unknown_event_is_accepted_and_reads_nothing(parkpow):
    payload = stream_payload("101", "abc123", "2026-04-10T14:29:00Z")
    payload["hook"]["event"] = "camera.offline"
    reply = post_json(parkpow, payload)
    assert reply.status_code == 200 and reply.json == []
    assert visits(parkpow) == []


def test_minimum_score_setting(parkpow):
    assert parkpow.post("/_mock/settings", json={"webhook_min_score": 0.8}).status_code == 200
    payload = stream_payload("101", "low1", "2026-04-10T14:29:00Z", score=0.5)
    payload["data"]["results"].append({**payload["data"]["results"][0], "plate": "high1",
                                       "score": 0.95})  # fmt: skip
    reply = post_multipart(parkpow, payload)
    assert reply.status_code == 200, reply.json
    low, high = reply.json
    assert "id" not in low and "requires higher scores" in low["status"]
    assert low["plate"] == "low1" and low["score"] == 0.5
    assert high["status"] == "Created - New visit created"
    assert [v["vehicle"]["license_plate"] for v in visits(parkpow)] == ["HIGH1"]


def test_absence_timer_closes_a_webhook_visit_on_the_clock(parkpow):
    post_json(parkpow, stream_payload("101", "gone1", "2026-04-10T14:30:00Z"))
    advance(parkpow, 3 * 60 + 1)
    [visit] = visits(parkpow)
    assert visit["end_date"] == "2026-04-10T14:30:00.000000" and visit["duration"] == 0.0


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"hook": {"event": "recognition"}}, {"data": ["This field is required."]}),
        ({"data": []}, {"data": ["Expected a dictionary of items."]}),
        ({"data": {"camera_id": "101"}}, {"data": {"results": ["This field is required."]}}),
        (
            {"data": {"results": [{"plate": "x"}], "camera_id": None}},
            {"data": {"camera_id": ["This field is required."]}},
        ),
        (
            {"data": {"camera_id": "101", "timestamp": "noon", "results": {"plate": "x"}}},
            {
                "data": {
                    "timestamp": ["Enter a valid time (%Y-%m-%d %H:%M:%S.%f%z or ISO 8601)."],
                    "results": ['Expected a list of items but got type "dict".'],
                }
            },
        ),
        (
            {"data": {"camera_id": "101", "results": [{"plate": 5}]}},
            {
                "data": {
                    "results": [
                        "Each result must be an object whose plate is a string, an object or null."
                    ]
                }
            },
        ),  # fmt: skip
        (
            {"data": {"camera_id": "101", "results": [{"plate": "x", "score": "high"}]}},
            {"data": {"results": ["A valid number is required."]}},
        ),
        ({"hook": "recognition", "data": {}}, {"hook": ["Expected a dictionary of items."]}),
    ],
)
def test_malformed_payloads_get_field_errors_and_change_nothing(parkpow, payload, errors):
    reply = post_json(parkpow, payload)
    assert reply.status_code == 400
    assert reply.json == errors
    assert visits(parkpow) == []


def test_form_bodies_need_a_json_field_holding_an_object(parkpow):
    missing = parkpow.post(PATH, data={"other": "x"}, headers=HEADERS)
    assert missing.status_code == 400 and missing.json == {"json": ["This field is required."]}
    broken = parkpow.post(PATH, data={"json": "{nope"}, headers=HEADERS)
    assert broken.status_code == 400 and broken.json == {"json": ["Value must be valid JSON."]}
    body, content_type = multipart(
        {"json": json.dumps(stream_payload("101", "img1", "2026-04-10T14:00:00Z"))},
        {"upload": ("a.jpg", b"not an image at all", "image/jpeg")},
    )
    bad_image = parkpow.post(PATH, data=body, content_type=content_type, headers=HEADERS)
    assert bad_image.status_code == 400 and list(bad_image.json) == ["upload"]
    assert visits(parkpow) == []


def test_tenancy_and_auth(parkpow):
    payload = stream_payload("101", "mine1", "2026-04-10T14:29:00Z")
    assert parkpow.post(PATH, json=payload).status_code == 401
    assert parkpow.post(PATH, json=payload, headers=auth("nobody")).status_code == 401
    seed(parkpow, token="pp-b", at=None)
    assert post_multipart(parkpow, payload, token_headers=auth("pp-b")).status_code == 200
    assert visits(parkpow) == []
    assert len(visits(parkpow, token="pp-b")) == 1
