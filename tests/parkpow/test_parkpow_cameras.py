"""create-camera, create-vehicle and parking-list: upserts, parking assignment, errors."""

from __future__ import annotations

import pytest

from ..conftest import auth
from .parkpow_support import HEADERS, log_json, seed, visits


@pytest.fixture
def pp(client):
    seed(client)
    return client


def cameras(client, token: str = "pp-a") -> dict[str, dict]:
    listed = client.get("/api/v1/parking-list/", headers=auth(token)).json
    return {
        camera["code"]: {**camera, "parking": parking["name"]}
        for parking in listed
        for camera in parking["camera_set"]
    }


def test_camera_defaults_and_default_parking(pp):
    reply = pp.post("/api/v1/create-camera/", data={"code": "C9", "name": "Cam 9"}, headers=HEADERS)
    assert reply.status_code == 200
    assert reply.json == {"code": "C9", "name": "Cam 9", "type": "SPOT"}
    assert cameras(pp)["C9"] == {
        "code": "C9",
        "name": "Cam 9",
        "type": "Spot",
        "latitude": "None",
        "longitude": "None",
        "notes": "None",
        "parking": "first-parking",  # the account's first lot
    }


def test_camera_upsert_keeps_fields_not_sent(pp):
    first = {"code": "C9", "name": "Cam 9", "type": "exit", "notes": "n", "latitude": "1.5"}
    reply = pp.post("/api/v1/create-camera/", data=first, headers=HEADERS)
    assert reply.json == {
        "code": "C9",
        "name": "Cam 9",
        "type": "EXIT",
        "notes": "n",
        "latitude": 1.5,
    }
    reply = pp.post(
        "/api/v1/create-camera/",
        json={"code": "C9", "name": "Renamed", "parking": "second-parking", "longitude": -3},
        headers=HEADERS,
    )
    assert reply.json == {
        "code": "C9",
        "name": "Renamed",
        "type": "EXIT",
        "longitude": -3.0,
        "parking": "second-parking",
    }
    assert cameras(pp)["C9"] == {
        "code": "C9",
        "name": "Renamed",
        "type": "Exit",
        "latitude": 1.5,
        "longitude": -3.0,
        "notes": "n",
        "parking": "second-parking",
    }
    # the camera's sightings now belong to its new lot
    log_json(pp, "202", ["ABC1"])
    log_json(pp, "C9", ["ABC1"])
    assert visits(pp)[0]["end_cam"]["code"] == "C9"


def test_camera_with_new_parking_name_creates_the_lot(pp):
    pp.post(
        "/api/v1/create-camera/",
        data={"code": "N1", "name": "North", "parking": "north-lot"},
        headers=HEADERS,
    )
    listed = pp.get("/api/v1/parking-list/", headers=HEADERS).json
    assert listed[-1]["name"] == "north-lot"
    assert listed[-1]["parking_spaces"] == 0 and listed[-1]["absent_timer"] == 3
    assert [c["code"] for c in listed[-1]["camera_set"]] == ["N1"]


def test_account_without_parkings_gets_a_default_lot(client):
    client.post("/_mock/seed", json={"accounts": [{"token": "fresh", "products": ["parkpow"]}]})
    assert client.get("/api/v1/parking-list/", headers=auth("fresh")).json == []
    client.post("/api/v1/create-camera/", data={"code": "1", "name": "one"}, headers=auth("fresh"))
    log_json(client, "2", ["AB1"], token="fresh")
    (lot,) = client.get("/api/v1/parking-list/", headers=auth("fresh")).json
    assert lot["name"] == "default" and lot["absent_timer"] == 3
    assert [c["code"] for c in lot["camera_set"]] == ["1", "2"]


@pytest.mark.parametrize(
    "body, errors",
    [
        ({}, {"code": ["This field is required."], "name": ["This field is required."]}),
        ({"code": "", "name": " "}, {"code": ["This field may not be blank."],
                                     "name": ["This field may not be blank."]}),
        ({"code": "X", "name": "x", "type": "GATE"}, {"type": ['"GATE" is not a valid choice.']}),
        ({"code": "X", "name": "x", "longitude": "east"},
         {"longitude": ["A valid number is required."]}),
        ({"code": "X", "name": "x", "latitude": 91},
         {"latitude": ["Ensure this value is less than or equal to 90."]}),
        ({"code": "X", "name": "x", "latitude": "nan"},
         {"latitude": ["A valid number is required."]}),
        ({"code": ["X"], "name": "x"}, {"code": ["Not a valid string."]}),
        ({"code": "X", "name": "x", "notes": "", "Notes": {}}, {"Notes": ["Not a valid string."]}),
        ({"code": "X" * 256, "name": "x"},
         {"code": ["Ensure this field has no more than 255 characters."]}),
    ],
)  # fmt: skip
def test_camera_validation(pp, body, errors):
    before = cameras(pp)
    reply = pp.post("/api/v1/create-camera/", json=body, headers=HEADERS)
    assert reply.status_code == 400
    assert reply.json == errors
    assert cameras(pp) == before


def test_vehicle_upsert(pp):
    reply = pp.post(
        "/api/v1/create-vehicle/",
        json={"license_plate": " ab 12c ", "payment_status": "paid", "field3": 7},
        headers=HEADERS,
    )
    assert reply.status_code == 200
    assert reply.json == {"license_plate": "AB 12C", "payment_status": "paid", "field3": "7"}
    reply = pp.post(
        "/api/v1/create-vehicle/",
        data={"license_plate": "AB 12c", "field1": "tenant"},
        headers=HEADERS,
    )
    assert reply.json == {"license_plate": "AB 12C", "field1": "tenant"}
    reply = pp.post(
        "/api/v1/create-vehicle/", json={"license_plate": "ab 12c", "payment_status": 1},
        headers=HEADERS,
    )  # fmt: skip
    assert reply.json == {"license_plate": "AB 12C", "payment_status": 1}


def test_imported_vehicle_is_authorized(pp):
    log_json(pp, "101", ["NEW1"])
    assert visits(pp)[0]["vehicle"]["status"] == "Unknown"
    pp.post("/api/v1/create-vehicle/", data={"license_plate": "new1"}, headers=HEADERS)
    assert visits(pp)[0]["vehicle"] == {"license_plate": "NEW1", "status": "Authorized"}


@pytest.mark.parametrize(
    "body, errors",
    [
        ({}, {"license_plate": ["This field is required."]}),
        ({"license_plate": ""}, {"license_plate": ["This field may not be blank."]}),
        ({"license_plate": "A1", "payment_status": {"x": 1}},
         {"payment_status": ["Not a valid string."]}),
        ({"license_plate": True, "field6": []},
         {"license_plate": ["Not a valid string."], "field6": ["Not a valid string."]}),
    ],
)  # fmt: skip
def test_vehicle_validation(pp, body, errors):
    reply = pp.post("/api/v1/create-vehicle/", json=body, headers=HEADERS)
    assert reply.status_code == 400
    assert reply.json == errors


def test_auth_and_product(client):
    seed(client)
    client.post("/_mock/seed", json={"accounts": [{"token": "va", "products": ["visionalert"]}]})
    for method, path in [
        ("GET", "/api/v1/parking-list/"),
        ("POST", "/api/v1/create-camera/"),
        ("POST", "/api/v1/create-vehicle"),
        ("GET", "/api/v1/visit-list"),
        ("POST", "/api/v1/log-vehicle/"),
    ]:
        reply = client.open(path, method=method)
        assert reply.status_code == 401
        assert reply.json == {"detail": "Authentication credentials were not provided."}
        reply = client.open(path, method=method, headers=auth("va"))
        assert reply.status_code == 403
        assert reply.json == {"detail": "You do not have permission to perform this action."}
