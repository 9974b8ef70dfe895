"""Every request of the ParkPow seed replayed (vendor host swapped), replies compared with
the seed's example replies field by field. Values that naturally differ (ids, URLs, dates)
are compared by type and format."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from .parkpow_support import (
    HEADERS,
    MEDIA_URL,
    NAIVE_FORMAT,
    START,
    jpeg,
    seed,
    visits,
)

VENDOR = "https://app.parkpow.com"

CAMERA_REPLY = {
    "code": "Entrance1",
    "name": "Entrance 1",
    "type": "ENTRANCE",
    "Notes": "Front gate",
    "longitude": 0.33,
    "latitude": 0.333,
}
VEHICLE_REPLY = {"license_plate": "ABC1234", "payment_status": 0}
# the seed's parking-list example, trailing commas removed
PARKING_LIST_REPLY = [
    {
        "camera_set": [
            {"code": "101", "name": "cam-101", "type": "Entrance", "latitude": "None",
             "longitude": "None", "notes": "notes"},
            {"code": "102", "name": "cam-102", "type": "Exit", "latitude": "None",
             "longitude": "None", "notes": "notes"},
        ],
        "name": "first-parking",
        "parking_spaces": 100,
        "absent_timer": 3,
    },
    {
        "camera_set": [
            {"code": "202", "name": "cam-202", "type": "Entrance", "latitude": "None",
             "longitude": "None", "notes": "notes"},
        ],
        "name": "second-parking",
        "parking_spaces": 120,
        "absent_timer": 3,
    },
]  # fmt: skip
VISIT_LIST_REPLY = json.loads(
    '[{"id": 4, "vehicle": {"license_plate": "QWE1234", "status": "Authorized"}, "start_cam": '
    '{"code": "101", "name": "cam-101", "type": "Entrance", "latitude": "None", "longitude": '
    '"None", "notes": "notes"}, "end_cam": {"code": "102", "name": "cam-102", "type": "Exit", '
    '"latitude": "None", "longitude": "None", "notes": "notes"}, "start_img": '
    '"example.com/aaw1108_9YG0bJS.JPG", "end_img": "example.com/aaw1108_D5DiEqD.JPG", '
    '"duration": 4.0, "start_date": "2019-06-08T15:40:19.419745", "start_prediction": {"box": '
    '{"xmax": 257, "xmin": 166, "ymax": 260, "ymin": 223}, "plate": "ch102tc", "score": 0.853, '
    '"dscore": 0.936}, "end_date": "2019-06-09T15:40:19.419745", "end_prediction": "None"}]'
)


def local(url: str) -> str:
    return url.replace(VENDOR, "")


def replay(client, prepared: requests.PreparedRequest):
    """Send a request built by ``requests`` (as the seed's Python examples build it)."""
    return client.open(
        local(prepared.url),
        method=prepared.method,
        data=prepared.body or b"",
        headers=dict(prepared.headers),
    )


def build(method: str, path: str, **kwargs) -> requests.PreparedRequest:
    headers = {"Authorization": "Token pp-a", **kwargs.pop("headers", {})}
    return requests.Request(method, VENDOR + path, headers=headers, **kwargs).prepare()


def assert_like(actual, expected, path="$"):
    """Equal, except for values that naturally differ: compared by type and format."""
    if path.endswith((".id",)):
        assert isinstance(actual, int), path
    elif path.endswith(("_img",)):
        assert isinstance(actual, str) and MEDIA_URL.match(actual), (path, actual)
    elif path.endswith(("_date",)):
        assert isinstance(actual, str) and NAIVE_FORMAT.match(actual), (path, actual)
    elif path.endswith("_prediction.plate"):
        # the example's prediction read "ch102tc" for vehicle QWE1234; ours is the read of
        # the visit's own plate, kept verbatim (lower case, as SDKs send it)
        assert isinstance(actual, str), path
    elif path.endswith(".duration"):
        # the example's 4.0 does not match its own 24 h between start and end
        assert isinstance(actual, float), path
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected), (path, actual)
        for key in expected:
            assert_like(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (path, actual)
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_like(a, e, f"{path}[{i}]")
    else:
        assert actual == expected and type(actual) is type(expected), (path, actual, expected)


@pytest.fixture
def pp(client):
    seed(client)
    return client


def test_create_camera_curl_example(pp):
    # curl -d sends the JSON body with a form content type
    body = '{"code": "Entrance1", "name":"Entrance 1", "type":"ENTRANCE", "Notes": "Front gate", "longitude": 0.33, "latitude": 0.333}'  # noqa: E501
    reply = replay(
        pp,
        build(
            "POST",
            "/api/v1/create-camera/",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    )
    assert reply.status_code == 200
    assert_like(reply.json, CAMERA_REPLY)


def test_create_camera_python_example(pp):
    # the seed's Python example, with its missing comma restored
    data = {
        "code": "Entrance1",
        "name": "Entrance 1",
        "type": "ENTRANCE",
        "Notes": "Front gate",
        "longitude": 0.33,
        "latitude": 0.333,
    }
    reply = replay(pp, build("POST", "/api/v1/create-camera/", data=data))
    assert reply.status_code == 200
    assert_like(reply.json, CAMERA_REPLY)
    listed = pp.get("/api/v1/parking-list/", headers=HEADERS).json
    (camera,) = [c for c in listed[0]["camera_set"] if c["code"] == "Entrance1"]
    assert camera == {
        "code": "Entrance1",
        "name": "Entrance 1",
        "type": "Entrance",
        "latitude": 0.333,
        "longitude": 0.33,
        "notes": "Front gate",
    }


def test_create_vehicle_python_example(pp):
    data = {"license_plate": "ABC1234", "payment_status": 0}
    reply = replay(pp, build("POST", "/api/v1/create-vehicle/", data=data))
    assert reply.status_code == 200
    assert_like(reply.json, VEHICLE_REPLY)


def test_create_vehicle_curl_example_is_a_get(pp):
    # the seed's curl line has no body, so curl sends a GET: not allowed, as in DRF
    reply = replay(pp, build("GET", "/api/v1/create-vehicle/"))
    assert reply.status_code == 405
    assert reply.json == {"detail": 'Method "GET" not allowed.'}


@pytest.mark.parametrize("path", ["/api/v1/parking-list/", "/api/v1/parking-list"])
def test_parking_list_example(pp, path):
    reply = replay(pp, build("GET", path))
    assert reply.status_code == 200
    assert_like(reply.json, PARKING_LIST_REPLY)
    assert reply.json == PARKING_LIST_REPLY  # nothing here differs naturally


def _example_visit(client):
    """The example's visit inside the example's period: QWE1234 in at 101, out at 102."""
    start_prediction = VISIT_LIST_REPLY[0]["start_prediction"]
    for camera, result, time in (
        ("101", start_prediction, "2019-06-10 15:40:19.419745+0000"),
        ("102", {"plate": "QWE1234"}, "2019-06-11 15:40:19.419745+0000"),
    ):
        clock = client.post("/_mock/clock", json={"set": time.replace(" ", "T")})
        assert clock.status_code == 200
        reply = client.post(
            "/api/v1/log-vehicle/",
            json={
                "camera": camera,
                "image": base64.b64encode(jpeg()).decode(),
                "results": [{**result, "plate": "qwe1234"} if camera == "101" else result],
                "time": time,
            },
            headers=HEADERS,
        )
        assert reply.status_code == 200


def test_visit_list_python_example(client):
    seed(client, absent_timer=2000)  # the example visit lasts 24 h between two gates
    _example_visit(client)
    data = {"start": "2019-06-10", "end": "2019-06-11"}
    reply = replay(client, build("POST", "/api/v1/visit-list/", data=data))
    assert reply.status_code == 200
    assert_like(reply.json, VISIT_LIST_REPLY)
    (visit,) = reply.json
    assert visit["start_date"] == "2019-06-10T15:40:19.419745"
    assert visit["end_date"] == "2019-06-11T15:40:19.419745"
    assert visit["duration"] == 1440.0
    assert visit["start_prediction"]["plate"] == "qwe1234"
    image = client.get(visit["start_img"].replace("http://localhost", ""))
    assert image.status_code == 200 and image.mimetype == "image/jpeg"


def test_visit_list_curl_example_is_the_last_day(client):
    seed(client, absent_timer=2000)
    _example_visit(client)
    client.post("/_mock/clock", json={"set": START})  # 2019 is outside the last day
    assert visits(client) == []
    reply = replay(client, build("GET", "/api/v1/visit-list/"))
    assert reply.status_code == 200 and reply.json == []


def test_log_vehicle_python_example(pp):
    # results=[dict(plate=...)] in ``data``: requests writes each result as str(dict)
    prepared = build(
        "POST",
        "/api/v1/log-vehicle",
        data={"results": [dict(plate="abcd1234")], "camera": "camera_code"},
        files={"image": ("tmp", jpeg(), "application/octet-stream")},
    )
    assert b"{'plate': 'abcd1234'}" in prepared.body
    reply = replay(pp, prepared)
    assert reply.status_code == 200
    assert reply.json == "OK"
    (visit,) = visits(pp)
    assert visit["vehicle"] == {"license_plate": "ABCD1234", "status": "Unknown"}
    assert visit["start_cam"]["code"] == "camera_code"
    assert visit["start_cam"]["type"] == "Spot"
    assert visit["start_prediction"] == "None"  # a bare plate carries no prediction
    assert MEDIA_URL.match(visit["start_img"])


def test_log_vehicle_json_example_from_real_clients(pp):
    body = {
        "camera": "10.199.27.128",
        "image": base64.b64encode(jpeg()).decode(),
        "results": [
            {
                "plate": "PECT600",
                "score": 0.97,
                "box": {"xmin": 691, "ymin": 397, "xmax": 750, "ymax": 431},
            }
        ],
        "time": "2026-04-10 22:29:00.000000+0800",
    }
    reply = pp.post("/api/v1/log-vehicle/", json=body, headers=HEADERS)
    assert reply.status_code == 200 and reply.json == "OK"
    (visit,) = visits(pp)
    assert visit["start_date"] == "2026-04-10T14:29:00.000000"
    assert visit["start_prediction"] == {
        "box": {"xmin": 691, "ymin": 397, "xmax": 750, "ymax": 431},
        "plate": "PECT600",
        "score": 0.97,
    }
