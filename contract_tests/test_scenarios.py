"""Sentences of the seeds that need a particular sequence or particular data to show.

Each request goes through the same validation as generated cases (every Schemathesis
check plus the suite's own), and then the scenario asserts what the seed says.
Scenarios that change state run only where writes are allowed (always in-process).
"""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from . import images
from .suite import send

VA, PP = "visionalert", "parkpow"


def _needs_writes(target) -> None:
    if not target.options.writes_allowed:
        pytest.skip("changes state; run with --allow-writes")


def _needs_license(target) -> int:
    if target.facts.license_id is None:
        pytest.skip("the token sees no VisionAlert license")
    return target.facts.license_id


def _header(reply, name: str) -> str:
    """A response header (Schemathesis keeps lower-cased names with lists of values)."""
    values = reply.headers.get(name.lower()) or []
    return values[0] if values else ""


def _missing_serial() -> str:
    return f"contract-missing-{secrets.token_hex(6)}"


@pytest.mark.rules("camera.unknown_404")
def test_unknown_camera_is_404(contract_target):
    """ "Returns 404 Not Found if no camera with that serial exists under the license."""
    license_id = _needs_license(contract_target)
    serial = _missing_serial()
    path = {"license_id": license_id, "serial": serial}
    for operation in ("listCameraLogs", "getReference"):
        reply = send(contract_target, VA, operation, path_parameters=path)
        assert reply.status_code == 404, (
            f"{operation} of an unknown serial: {reply.status_code} {reply.text[:200]}"
        )


@pytest.mark.rules("tenancy.license")
def test_unknown_license_is_404(contract_target):
    reply = send(contract_target, VA, "listCameras", path_parameters={"license_id": 987654321})
    assert reply.status_code == 404, reply.text[:200]


@pytest.mark.rules("tenancy.license")
def test_license_of_another_account_is_403(contract_target):
    other = contract_target.facts.other_license_id
    if other is None:
        pytest.skip("no license of another account is known (in-process only)")
    reply = send(contract_target, VA, "listCameras", path_parameters={"license_id": other})
    assert reply.status_code == 403, reply.text[:200]


@pytest.mark.rules("auth.token")
@pytest.mark.parametrize(
    ("spec", "operation", "path"),
    [
        (VA, "listLicenses", {}),
        (VA, "listCameras", None),
        (PP, "parkingList", {}),
        (PP, "visitList", {}),
    ],
)
def test_credentials_are_required(contract_target, spec, operation, path):
    """401 without a token and with an unknown one, announcing the Token scheme."""
    if path is None:
        path = {"license_id": _needs_license(contract_target)}
    for token, detail in (
        (False, "Authentication credentials were not provided."),
        ("not-a-token-" + secrets.token_hex(8), "Invalid token."),
    ):
        reply = send(contract_target, spec, operation, path_parameters=path, token=token)
        assert reply.status_code == 401, f"{operation} with token={token!r}: {reply.status_code}"
        assert _header(reply, "WWW-Authenticate").startswith("Token")
        assert reply.json() == {"detail": detail}


@pytest.mark.rules("page.size")
def test_page_size_is_clamped_to_200(contract_target):
    """page_size: "default 50, max 200"."""
    facts = contract_target.facts
    license_id = facts.big_license_id or _needs_license(contract_target)
    path = {"license_id": license_id}
    everything = send(
        contract_target, VA, "listCameras", path_parameters=path, query={"page_size": "1000"}
    )
    assert everything.status_code == 200
    page = everything.json()
    assert len(page["results"]) <= 200
    default = send(contract_target, VA, "listCameras", path_parameters=path).json()
    assert len(default["results"]) <= 50
    if default["next"] is not None:  # more than 50 cameras: a page of 1000 asked shows the cap
        assert len(page["results"]) > 50


@pytest.mark.rules("page.walk", "page.envelope")
def test_walking_next_visits_every_camera_once(contract_target):
    """Follow ``next`` (never build a cursor): every item once, newest first."""
    facts = contract_target.facts
    license_id = facts.big_license_id or _needs_license(contract_target)
    seen: list[int] = []
    query = {"page_size": "37"}
    for _ in range(20):
        reply = send(
            contract_target,
            VA,
            "listCameras",
            path_parameters={"license_id": license_id},
            query=query,
        )
        assert reply.status_code == 200
        page = reply.json()
        assert "next" in page and "previous" in page
        seen.extend(camera["id"] for camera in page["results"])
        if not page["next"]:
            break
        from urllib.parse import parse_qs, urlsplit

        query = {key: values[-1] for key, values in parse_qs(urlsplit(page["next"]).query).items()}
    assert len(seen) == len(set(seen)), "a camera was listed twice"
    whole = send(
        contract_target,
        VA,
        "listCameras",
        path_parameters={"license_id": license_id},
        query={"page_size": "200"},
    )
    if whole.json()["next"] is None:
        assert sorted(seen) == sorted(camera["id"] for camera in whole.json()["results"])


def _server_zone(target):
    name = target.options.server_timezone
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def _logs(target, license_id: int, page_size: str) -> list[dict]:
    """A page of the license's logs; with none and writes allowed, one upload's log (the
    analysis is asynchronous: wait for it up to 20 s, in-process by moving the clock)."""
    path = {"license_id": license_id}
    for attempt in range(21):
        logs = send(
            target, VA, "listLicenseLogs", path_parameters=path, query={"page_size": page_size}
        )
        results = logs.json()["results"] if logs.status_code == 200 else []
        if results or not target.options.writes_allowed:
            break
        if attempt == 0:
            target.upload_camera("contract-log")
        elif target.options.live:
            time.sleep(1)
        else:
            target.http("POST", "/_mock/clock", json={"advance": 3600})
    if not results:
        pytest.skip("could not proceed: the license has no logs to filter")
    return results


@pytest.mark.rules("dates.naive")
def test_naive_timestamps_are_read_in_the_server_timezone(contract_target):
    """ "Naive timestamps (no UTC offset) are assumed to be in the server timezone.\""""
    license_id = _needs_license(contract_target)
    results = _logs(contract_target, license_id, "20")
    log = results[len(results) // 2]
    created = datetime.fromisoformat(log["created"].replace("Z", "+00:00"))
    local = created.astimezone(_server_zone(contract_target)).replace(tzinfo=None)
    # `created` is shown to the second; the stored instant may carry a fraction of it
    later = local + timedelta(seconds=1)
    window = {
        "start": local.isoformat(timespec="seconds"),
        "end": later.isoformat(timespec="seconds"),
    }
    reply = send(
        contract_target,
        VA,
        "listLicenseLogs",
        path_parameters={"license_id": license_id},
        query=window,
    )
    assert log["id"] in [item["id"] for item in reply.json()["results"]], (
        f"log {log['id']} created {log['created']} is missing from {window} "
        f"(server timezone {contract_target.options.server_timezone})"
    )
    utc = {
        "start": log["created"],
        "end": (created + timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
    }
    reply = send(
        contract_target,
        VA,
        "listLicenseLogs",
        path_parameters={"license_id": license_id},
        query=utc,
    )
    assert log["id"] in [item["id"] for item in reply.json()["results"]]


@pytest.mark.rules("dates.start_date", "dates.end_date")
def test_date_filter_is_whole_day_inclusive(contract_target):
    """A date ``end`` includes its whole day (created <= 23:59:59 of that day)."""
    license_id = _needs_license(contract_target)
    results = _logs(contract_target, license_id, "5")
    log = results[0]
    created = datetime.fromisoformat(log["created"].replace("Z", "+00:00")).astimezone(
        _server_zone(contract_target)
    )
    day = created.date().isoformat()
    reply = send(
        contract_target,
        VA,
        "listLicenseLogs",
        path_parameters={"license_id": license_id},
        query={"start": day, "end": day},
    )
    assert log["id"] in [item["id"] for item in reply.json()["results"]]


@pytest.mark.rules("dates.invalid")
def test_invalid_date_is_400_naming_the_field(contract_target):
    license_id = _needs_license(contract_target)
    for name in ("start", "end"):
        reply = send(
            contract_target,
            VA,
            "listLicenseLogs",
            path_parameters={"license_id": license_id},
            query={name: "yesterday"},
        )
        assert reply.status_code == 400
        assert reply.json() == {name: ["Enter a valid date (YYYY-MM-DD) or ISO 8601 timestamp."]}


# -- scenarios that change state ---------------------------------------------------------------


def _upload(
    target, serial: str, token: str | None = None, frame: bytes | None = None, patient: bool = True
):
    """create-log; against a live server, waits out the per-account throttle like a client."""
    body = {"camera_id": serial, "upload": frame or images.frames()[1]}
    for _ in range(5):
        reply = send(
            target, VA, "createLog", body=body, media_type="multipart/form-data", token=token
        )
        if reply.status_code == 403 and target.options.live:
            # the account's licenses are full or expired: the world offers no new camera
            pytest.skip(f"could not proceed: create-log answered 403 {reply.text[:200]}")
        throttled = reply.status_code == 429 and "detail" in (reply.json() or {})
        if not (patient and throttled and target.options.live):
            return reply
        time.sleep(min(5, int(_header(reply, "Retry-After") or 1)))
    return reply


@pytest.mark.rules("camera.delete")
def test_deleted_camera_is_gone(contract_target):
    """create-log registers a camera; delete it; its logs and reference are then 404."""
    _needs_writes(contract_target)
    license_id = _needs_license(contract_target)
    serial = f"contract-{secrets.token_hex(4)}"
    created = _upload(contract_target, serial)
    assert created.status_code in (200, 201), created.text[:200]
    listed = send(
        contract_target,
        VA,
        "listCameras",
        path_parameters={"license_id": license_id},
        query={"page_size": "200"},
    )
    if serial not in [camera["serial"] for camera in listed.json()["results"]]:
        pytest.skip("the new camera joined another license of the account")
    path = {"license_id": license_id, "serial": serial}
    assert send(contract_target, VA, "getReference", path_parameters=path).status_code == 200
    deleted = send(contract_target, VA, "deleteCamera", path_parameters=path)
    assert deleted.status_code == 204, deleted.text[:200]
    for operation in ("listCameraLogs", "getReference"):
        reply = send(contract_target, VA, operation, path_parameters=path)
        assert reply.status_code == 404, (
            f"{operation} after delete: {reply.status_code} {reply.text[:200]}"
        )
    again = send(contract_target, VA, "deleteCamera", path_parameters=path)
    assert again.status_code == 404


@pytest.mark.rules("upload.camera_window")
def test_camera_upload_limit_answers_429_with_retry_after(contract_target):
    """ "1 request every 15 minutes for each camera": the second upload is refused."""
    _needs_writes(contract_target)
    serial = f"contract-{secrets.token_hex(4)}"
    first = _upload(contract_target, serial)
    assert first.status_code in (200, 201), first.text[:200]
    second = _upload(contract_target, serial, frame=images.frames()[2])
    assert second.status_code == 429, second.text[:200]
    assert second.json() == {"message": "Camera already uploaded a log recently."}
    assert 1 <= int(_header(second, "Retry-After")) <= 900


@pytest.mark.rules("upload.account_throttle")
def test_account_throttle_answers_429_with_retry_after(contract_target):
    """ "1 request per second": a burst is throttled, with DRF's text and Retry-After."""
    _needs_writes(contract_target)
    token = contract_target.facts.throttled_token or contract_target.token
    replies = [
        _upload(contract_target, f"contract-{secrets.token_hex(4)}", token=token) for _ in range(3)
    ]
    throttled = [reply for reply in replies if reply.status_code == 429]
    if not throttled:
        pytest.skip("no burst was throttled (the server's clock moved on)")
    reply = throttled[0]
    assert reply.json()["detail"].startswith("Request was throttled. Expected available in ")
    assert int(_header(reply, "Retry-After")) >= 1


@pytest.mark.rules("pp.visit_pairing", "pp.log_vehicle", "pp.period")
def test_entrance_then_exit_makes_a_visit(contract_target):
    """log-vehicle at an entrance, then at an exit (both at the server's now, the JSON form
    real LPR bridges send): one visit with both cameras and a duration, in visit-list
    (GET and POST)."""
    _needs_writes(contract_target)
    facts = contract_target.facts
    if not facts.entrance_codes or not facts.exit_codes:
        pytest.skip("no entrance and exit cameras")
    plate = "CT" + secrets.token_hex(3).upper()
    image = base64.b64encode(images.frames()[0]).decode("ascii")
    for code in (facts.entrance_codes[0], facts.exit_codes[0]):
        body = {
            "camera": code,
            "image": image,
            "results": [
                {
                    "plate": plate,
                    "score": 0.9,
                    "box": {"xmin": 1, "ymin": 2, "xmax": 30, "ymax": 12},
                }
            ],
        }
        reply = send(contract_target, PP, "logVehicle", body=body, media_type="application/json")
        assert reply.status_code == 200 and reply.json() == "OK", reply.text[:200]
    visits = send(contract_target, PP, "visitList").json()  # no period: the last 24 hours
    mine = [visit for visit in visits if visit["vehicle"]["license_plate"].upper() == plate]
    assert len(mine) == 1, f"visits of {plate}: {mine}"
    visit = mine[0]
    assert visit["start_cam"]["code"] == facts.entrance_codes[0]
    assert isinstance(visit["end_cam"], dict) and visit["end_cam"]["code"] == facts.exit_codes[0]
    assert visit["end_date"] != "None" and visit["duration"] not in (None, "None")
    start = datetime.fromisoformat(visit["start_date"])
    window = {
        "start": (start - timedelta(seconds=1)).isoformat(),
        "end": (start + timedelta(seconds=1)).isoformat(),
    }
    posted = send(
        contract_target, PP, "visitListPost", body=window, media_type="application/json"
    ).json()
    assert [v["id"] for v in posted if v["vehicle"]["license_plate"].upper() == plate] == [
        visit["id"]
    ]


@pytest.mark.rules("pp.camera_listed")
def test_created_camera_is_listed(contract_target):
    """create-camera, then parking-list shows it with its type's display label."""
    _needs_writes(contract_target)
    code = "contract-" + secrets.token_hex(4)
    body = {
        "code": code,
        "name": "Contract gate",
        "type": "EXIT",
        "notes": "made by the contract suite",
    }
    reply = send(
        contract_target,
        PP,
        "createCamera",
        body=body,
        media_type="application/x-www-form-urlencoded",
    )
    assert reply.status_code in (200, 201)
    assert reply.json()["code"] == code
    cameras = [
        camera
        for parking in send(contract_target, PP, "parkingList").json()
        for camera in parking["camera_set"]
    ]
    listed = [camera for camera in cameras if camera["code"] == code]
    assert len(listed) == 1 and listed[0]["type"] == "Exit" and listed[0]["name"] == "Contract gate"


@pytest.mark.rules("paths.trailing_slash")
def test_paths_answer_with_and_without_trailing_slash(contract_target):
    """ "Every path is answered directly with and without its trailing slash": the same
    reply, no redirect."""
    for path in ("/v1/vision-alert/licenses/", "/api/v1/parking-list/"):
        replies = [contract_target.http("GET", variant) for variant in (path, path.rstrip("/"))]
        assert [reply.status_code for reply in replies] == [200, 200], path
        assert replies[0].json() == replies[1].json(), path
