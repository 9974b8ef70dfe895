"""The world a cassette implies, from exchanges written here (no server)."""

from __future__ import annotations

from mockserver.parity.implied_seed import implied_seed


def exchange(token, method, path, status=200, reply=None, body=None):
    return {
        "request": {
            "method": method,
            "path": path,
            "query": [],
            "headers": {"authorization": f"Token {token}"} if token else {},
            "body": body,
        },
        "response": {"status": status, "headers": {}, "body": {"json": reply}},
    }


def camera(serial, license="LIC-A", **fields):
    return {"serial": serial, "name": f"n-{serial}", "license": license, "tags": ["t"], **fields}


def upload(token, serial):
    return exchange(
        token,
        "POST",
        "/v1/vision-alert/create-log/",
        body={"multipart": [{"name": "camera_id", "value": serial}]},
    )


def test_what_the_replies_showed_before_the_recording_changed_it():
    a = "<token-1>"
    exchanges = [
        upload(a, "NEW"),  # registered by the recording: not seeded
        exchange(
            a,
            "GET",
            "/v1/vision-alert/9/cameras/",
            reply={"results": [camera("C2"), camera("C1"), camera("NEW")]},
        ),
        exchange(
            a, "GET", "/v1/vision-alert/9/cameras/C3/reference/", reply={"reference_image": None}
        ),
        exchange(
            a,
            "GET",
            "/api/v1/parking-list/",
            reply=[
                {
                    "name": "lot",
                    "parking_spaces": 4,
                    "absent_timer": 3,
                    "camera_set": [
                        {
                            "code": "101",
                            "name": "in",
                            "type": "Entrance",
                            "latitude": "None",
                            "longitude": 1.5,
                            "notes": "None",
                        }
                    ],
                }
            ],
        ),
        exchange(a, "POST", "/api/v1/create-vehicle/", body={"json": {"license_plate": "new1"}}),
        exchange(
            a,
            "GET",
            "/api/v1/vehicles/",
            reply={
                "results": [
                    {"license_plate": "OLD1", "payment_status": "0"},
                    {"license_plate": "NEW1"},
                ]
            },
        ),
        exchange(
            a,
            "POST",
            "/v1/vision-alert/create-log/",
            429,
            {"detail": "Request was throttled. Expected available in 1 second."},
        ),
        exchange(
            "<token-2>", "GET", "/v1/vision-alert/licenses/", 401, {"detail": "Invalid token."}
        ),
        exchange("<token-3>", "GET", "/v1/vision-alert/licenses/", 403, {"detail": "no"}),
    ]

    implied = implied_seed(exchanges)

    first, third = implied.seed["accounts"]
    assert implied.tokens == {
        "<token-1>": "parity-1",
        "<token-2>": "parity-unknown-2",
        "<token-3>": "parity-3",
    }
    assert implied.seeded == ["<token-1>", "<token-3>"]
    assert first["rate_limit_per_second"] == 1 and third["rate_limit_per_second"] is None
    assert third["products"] == ["parkpow"]  # refused VisionAlert every time
    (license,) = first["visionalert"]["licenses"]
    assert license["code"] == "LIC-A"  # named by its cameras; no license list was recorded
    assert implied.license_codes == {"9": "LIC-A"}
    assert [c["serial"] for c in license["cameras"]] == ["C3", "C1", "C2"]  # the oldest first
    assert license["cameras"][1] == {"serial": "C1", "name": "n-C1", "tags": ["t"], "notes": ""}
    (parking,) = first["parkpow"]["parkings"]
    assert parking["cameras"] == [
        {"code": "101", "name": "in", "type": "ENTRANCE", "latitude": None, "longitude": 1.5}
    ]
    assert first["parkpow"]["vehicles"] == [{"license_plate": "OLD1", "payment_status": "0"}]
