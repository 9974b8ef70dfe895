"""The visit lifecycle on a frozen clock, and visit-list's period rules."""

from __future__ import annotations

import base64
import json
import os

import pytest

from ..conftest import auth
from .parkpow_support import (
    HEADERS,
    MEDIA_URL,
    OTHER,
    START_NAIVE,
    advance,
    b64_jpeg,
    jpeg,
    log_json,
    log_multipart,
    result,
    seed,
    visits,
)


@pytest.fixture
def pp(client):
    seed(client)
    return client


@pytest.mark.parametrize("path", ["/api/v1/log-vehicle/", "/api/v1/log-vehicle"])
@pytest.mark.parametrize("encoding", ["json", "multipart"])
def test_entrance_then_exit(pp, path, encoding):
    def send(camera, plate):
        if encoding == "multipart":
            return log_multipart(pp, camera, [plate], path=path)
        return log_json(pp, camera, [plate], path=path)

    reply = send("101", "abc123")
    assert reply.status_code == 200 and reply.json == "OK"
    (visit,) = visits(pp)
    assert visit["end_date"] == "None" and visit["duration"] == "None"
    assert visit["end_cam"] == "None" and visit["end_img"] == "None"
    advance(pp, 150)  # within the 3-minute absent timer
    assert send("102", "ABC123").json == "OK"
    (visit,) = visits(pp)
    assert visit["vehicle"] == {"license_plate": "ABC123", "status": "Unknown"}
    assert visit["start_cam"]["code"] == "101" and visit["end_cam"]["code"] == "102"
    assert visit["start_date"] == START_NAIVE
    assert visit["end_date"] == "2026-04-10T14:32:30.000000"
    assert visit["duration"] == 2.5  # minutes
    assert MEDIA_URL.match(visit["start_img"]) and MEDIA_URL.match(visit["end_img"])
    assert visit["start_prediction"]["plate"] == "abc123"
    assert visit["end_prediction"]["plate"] == "ABC123"
    advance(pp, 3600)  # closed visits stay closed
    assert visits(pp, start="2026-04-10")[0]["end_date"] == "2026-04-10T14:32:30.000000"


def test_entrance_then_absent_timer(pp):
    log_json(pp, "101", ["ABC123"])
    advance(pp, 179)
    assert visits(pp)[0]["end_date"] == "None"
    advance(pp, 1)  # 3 minutes without a sighting: the visit closes at its last sighting
    (visit,) = visits(pp)
    assert visit["end_date"] == START_NAIVE
    assert visit["duration"] == 0.0
    assert visit["end_cam"] == "None" and visit["end_img"] == "None"
    assert visit["end_prediction"] == "None"
    # the plate's exit after that finds no open visit: nothing changes
    log_json(pp, "102", ["ABC123"])
    assert visits(pp) == [visit]
    # and its next entrance is a new visit
    log_json(pp, "101", ["ABC123"])
    assert [v["end_date"] for v in visits(pp)] == ["None", START_NAIVE]


def test_sightings_keep_the_visit_alive(pp):
    pp.post(
        "/api/v1/create-camera/",
        json={"code": "S1", "name": "Spot 1", "type": "SPOT", "parking": "first-parking"},
        headers=HEADERS,
    )
    log_json(pp, "101", ["ABC123"])
    for _ in range(4):  # 2-minute gaps, each under the 3-minute timer
        advance(pp, 120)
        log_json(pp, "S1", ["ABC123"])
    advance(pp, 120)
    log_json(pp, "101", ["ABC123"])  # a repeated entrance read keeps the same visit
    advance(pp, 179)
    assert visits(pp)[0]["end_date"] == "None"
    advance(pp, 1)
    (visit,) = visits(pp)
    assert visit["start_cam"]["code"] == "101"
    assert visit["end_date"] == "2026-04-10T14:40:00.000000"
    assert visit["duration"] == 10.0


def test_spot_opens_a_visit_and_exit_closes_it(pp):
    log_json(pp, "new-spot", ["XYZ9"])  # unknown code: a SPOT camera in the default lot
    listed = pp.get("/api/v1/parking-list/", headers=HEADERS).json
    assert listed[0]["camera_set"][-1] == {
        "code": "new-spot",
        "name": "new-spot",
        "type": "Spot",
        "latitude": "None",
        "longitude": "None",
        "notes": "None",
    }
    advance(pp, 60)
    log_json(pp, "102", ["XYZ9"])
    (visit,) = visits(pp)
    assert visit["start_cam"]["type"] == "Spot" and visit["end_cam"]["type"] == "Exit"
    assert visit["duration"] == 1.0


def test_exit_without_open_visit_is_ignored(pp):
    assert log_json(pp, "102", ["NOPE1"]).json == "OK"
    assert visits(pp) == []


def test_several_plates_in_one_request(pp):
    log_json(pp, "101", ["AAA1", "bbb2", "QWE1234"])
    listed = visits(pp)
    assert sorted(v["vehicle"]["license_plate"] for v in listed) == ["AAA1", "BBB2", "QWE1234"]
    assert {v["vehicle"]["license_plate"]: v["vehicle"]["status"] for v in listed}[
        "QWE1234"
    ] == "Authorized"
    assert len({v["start_img"] for v in listed}) == 1  # one image, shared
    log_json(pp, "102", ["aaa1", "BBB2"])
    assert sorted(v["end_date"] != "None" for v in visits(pp)) == [False, True, True]


def test_one_open_visit_per_plate_and_parking(pp):
    log_json(pp, "101", ["ABC123"])
    log_json(pp, "202", ["ABC123"])  # the second parking lot: its own visit
    log_json(pp, "101", ["ABC123"])
    listed = visits(pp)
    assert sorted(v["start_cam"]["code"] for v in listed) == ["101", "202"]
    log_json(pp, "102", ["ABC123"])  # exit of first-parking closes only that visit
    ends = {v["start_cam"]["code"]: v["end_date"] for v in visits(pp)}
    assert ends["101"] != "None" and ends["202"] == "None"


def test_absent_timer_zero_never_closes(client):
    seed(client, absent_timer=0)
    log_json(client, "101", ["ABC123"])
    advance(client, 7 * 24 * 3600)
    (visit,) = visits(client, start="2026-04-10")
    assert visit["end_date"] == "None"


def test_sighting_time_and_default_now(pp):
    log_json(pp, "101", ["T1"], time="2026-04-10 16:00:00.500000+0200")  # 14:00:00.5 UTC
    log_json(pp, "101", ["T2"], time="2026-04-10T14:10:00Z")
    log_json(pp, "101", ["T3"], time="2026-04-10 14:20:00.000000")  # no offset: UTC
    log_json(pp, "101", ["T4"])  # no time: the emulator's now
    starts = {v["vehicle"]["license_plate"]: v["start_date"] for v in visits(pp)}
    assert starts == {
        "T1": "2026-04-10T14:00:00.500000",
        "T2": "2026-04-10T14:10:00.000000",
        "T3": "2026-04-10T14:20:00.000000",
        "T4": START_NAIVE,
    }


def test_exit_before_entrance_time_has_zero_duration(pp):
    log_json(pp, "101", ["ABC123"])
    log_json(pp, "102", ["ABC123"], time="2026-04-10T14:00:00Z")
    (visit,) = visits(pp)
    assert visit["duration"] == 0.0 and visit["end_date"] == START_NAIVE


def test_newer_result_format_and_single_result_object(pp):
    newer = {
        "plate": {
            "box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4},
            "props": {"plate": [{"value": "nf123", "score": 0.9}]},
            "score": 0.88,
            "type": "Plate",
        }
    }
    log_json(pp, "101", [newer])
    bridge = {"plate": {"box": {}, "score": "0.7", "type": "BR456", "props": None}}
    log_json(pp, "101", [bridge])
    body = {"camera": "101", "image": b64_jpeg(), "results": {"plate": "one1", "score": 0.5}}
    assert pp.post("/api/v1/log-vehicle/", json=body, headers=HEADERS).json == "OK"
    predictions = {v["vehicle"]["license_plate"]: v["start_prediction"] for v in visits(pp)}
    assert predictions["NF123"] == {
        "box": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4},
        "plate": "nf123",
        "score": 0.88,
    }
    assert predictions["BR456"] == {"box": {}, "plate": "BR456", "score": "0.7"}
    assert predictions["ONE1"] == {"plate": "one1", "score": 0.5}


def test_prediction_details_are_kept_as_sent(pp):
    odd = {"plate": "odd1", "box": [None, None], "score": "0.719034", "dscore": None}
    log_json(pp, "101", [odd])
    (visit,) = visits(pp)
    assert visit["start_prediction"] == {"box": [None, None], "plate": "odd1", "score": "0.719034"}


# --- visit-list periods ------------------------------------------------------------------


def _visits_at(client, *times: str) -> None:
    for i, moment in enumerate(times):
        assert log_json(client, "101", [f"P{i}"], time=moment).status_code == 200


def test_default_period_is_the_last_24_hours(pp):
    advance(pp, 24 * 3600)  # now: 2026-04-11T14:30:00Z
    _visits_at(
        pp,
        "2026-04-10T14:29:59.999999Z",  # P0: just over a day ago
        "2026-04-10T14:30:00Z",  # P1: exactly a day ago: in
        "2026-04-11T14:30:00Z",  # P2: now: in
        "2026-04-11T14:30:00.000001Z",  # P3: the future: out
    )
    assert [v["vehicle"]["license_plate"] for v in visits(pp)] == ["P2", "P1"]


def test_date_bounds_cover_whole_days(pp):
    _visits_at(
        pp,
        "2026-04-08T23:59:59.999999Z",
        "2026-04-09T00:00:00Z",
        "2026-04-09T23:59:59.999999Z",
        "2026-04-10T00:00:00Z",
    )
    plates = [
        v["vehicle"]["license_plate"] for v in visits(pp, start="2026-04-09", end="2026-04-09")
    ]
    assert plates == ["P2", "P1"]  # newest first
    plates = [v["vehicle"]["license_plate"] for v in visits(pp, start="2026-04-09")]
    assert plates == ["P3", "P2", "P1"]
    plates = [v["vehicle"]["license_plate"] for v in visits(pp, end="2026-04-08")]
    assert plates == ["P0"]


def test_timestamp_bounds_are_exact(pp):
    _visits_at(pp, "2026-04-09T10:00:00Z", "2026-04-09T10:00:01Z", "2026-04-09T10:00:02Z")
    # a client looking a sighting up with a one-second window around it
    listed = visits(pp, start="2026-04-09T10:00:00.5Z", end="2026-04-09T10:00:01.5Z")
    assert [v["vehicle"]["license_plate"] for v in listed] == ["P1"]
    listed = visits(pp, start="2026-04-09T10:00:01Z", end="2026-04-09T10:00:01Z")
    assert [v["vehicle"]["license_plate"] for v in listed] == ["P1"]
    # naive timestamps are in the server timezone (UTC here); offsets are honoured
    listed = visits(pp, start="2026-04-09T12:00:02+02:00", end="2026-04-09T10:00:02")
    assert [v["vehicle"]["license_plate"] for v in listed] == ["P2"]


def test_server_timezone_applies_to_dates_and_replies(make_app):
    client = make_app(server_timezone="Asia/Singapore").test_client()
    seed(client)
    log_json(client, "101", ["SG1"], time="2026-04-09T17:00:00Z")  # 01:00 on the 10th in SG
    (visit,) = visits(client, start="2026-04-10", end="2026-04-10")
    assert visit["start_date"] == "2026-04-10T01:00:00.000000"
    assert visits(client, start="2026-04-09", end="2026-04-09") == []


@pytest.mark.parametrize("how", ["form", "json", "json-as-form", "query"])
def test_post_accepts_form_json_and_query(pp, how):
    _visits_at(pp, "2026-04-09T10:00:00Z", "2026-04-10T10:00:00Z")
    period = {"start": "2026-04-09", "end": "2026-04-09"}
    if how == "form":
        reply = pp.post("/api/v1/visit-list/", data=period, headers=HEADERS)
    elif how == "json":
        reply = pp.post("/api/v1/visit-list", json=period, headers=HEADERS)
    elif how == "json-as-form":
        reply = pp.post(
            "/api/v1/visit-list/",
            data=json.dumps(period),
            content_type="application/x-www-form-urlencoded",
            headers=HEADERS,
        )
    else:
        reply = pp.post("/api/v1/visit-list/", query_string=period, headers=HEADERS)
    assert reply.status_code == 200
    assert [v["vehicle"]["license_plate"] for v in reply.json] == ["P0"]


@pytest.mark.parametrize(
    "period, fields",
    [
        ({"start": "2026-13-01"}, ["start"]),
        ({"end": "yesterday"}, ["end"]),
        ({"start": "2026-02-30", "end": "x"}, ["start", "end"]),
    ],
)
def test_invalid_period_is_400_naming_the_field(pp, period, fields):
    for reply in (
        pp.get("/api/v1/visit-list/", query_string=period, headers=HEADERS),
        pp.post("/api/v1/visit-list/", data=period, headers=HEADERS),
    ):
        assert reply.status_code == 400
        assert reply.json == {
            f: ["Enter a valid date (YYYY-MM-DD) or ISO 8601 timestamp."] for f in fields
        }


def test_tenancy(client):
    seed(client)
    seed(client, token=OTHER, at=None)
    log_json(client, "101", ["MINE1"])
    log_json(client, "101", ["THEIRS1"], token=OTHER)
    mine = visits(client)
    theirs = visits(client, token=OTHER)
    assert [v["vehicle"]["license_plate"] for v in mine] == ["MINE1"]
    assert [v["vehicle"]["license_plate"] for v in theirs] == ["THEIRS1"]
    # the same camera code in two accounts is two cameras; an exit in one closes nothing
    log_json(client, "102", ["THEIRS1"])
    assert visits(client, token=OTHER)[0]["end_date"] == "None"
    reply = client.get("/api/v1/visit-list/", headers=auth("nobody"))
    assert reply.status_code == 401


def test_only_images_that_start_or_end_a_visit_are_kept(app, client):
    seed(client)
    root = app.extensions["mockserver"].media.root

    def files() -> int:
        return sum(len(names) for _, _, names in os.walk(root))

    def send(camera: str, shade: int):
        body = {
            "camera": camera,
            "image": base64.b64encode(jpeg(shade=shade)).decode(),
            "results": [result("KEEP1")],
        }
        assert client.post("/api/v1/log-vehicle/", json=body, headers=HEADERS).json == "OK"

    send("101", 10)  # opens: kept
    for shade in range(20, 60, 10):  # keep-alive reads with new images: not kept
        send("101", shade)
    assert files() == 1
    send("102", 90)  # closes: kept
    send("102", 100)  # nothing open: not kept
    assert files() == 2
    (visit,) = visits(client)
    for url in (visit["start_img"], visit["end_img"]):
        assert client.get(url.replace("http://localhost", "")).status_code == 200


def test_back_dated_entrance_then_exit_makes_one_closed_visit(client):
    """A bridge replaying a camera's buffer: sightings hours older than the clock."""
    seed(client, absent_timer=3)
    assert log_json(client, "101", ["BKD001"], time="2026-04-10 10:00:00.000000+0000").json == "OK"
    assert log_json(client, "102", ["BKD001"], time="2026-04-10 10:01:00.000000+0000").json == "OK"
    (visit,) = visits(client, start="2026-04-10", end="2026-04-10")
    assert visit["end_cam"]["code"] == "102"
    assert (visit["start_date"], visit["end_date"]) == (
        "2026-04-10T10:00:00.000000",
        "2026-04-10T10:01:00.000000",
    )
    assert visit["duration"] == 1.0


def test_back_dated_entrance_alone_closes_after_the_timer_of_emulator_time(client):
    seed(client, absent_timer=3)
    log_json(client, "101", ["BKD002"], time="2026-04-10 10:00:00.000000+0000")
    advance(client, 179)
    (visit,) = visits(client, start="2026-04-10", end="2026-04-10")
    assert visit["end_date"] == "None"  # still open: the timer runs from its arrival
    advance(client, 1)
    (visit,) = visits(client, start="2026-04-10", end="2026-04-10")
    assert visit["end_date"] == "2026-04-10T10:00:00.000000"  # closed at its last sighting
