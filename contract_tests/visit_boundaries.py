"""ParkPow's visit rules at their boundaries, each reply predicted from the suite's own
sightings: entrance then exit (dates, cameras, duration in minutes), the absent timer,
visit-list's default period and periods, and the live form's count and pages.
"""

from __future__ import annotations

import base64
from datetime import timedelta

from . import images
from .model import expect, parkpow_date, visit_duration
from .rules import LEDGER
from .server_clock import Clock, CouldNotProceed, control, stamp, zone
from .suite import send

PP = "parkpow"
CHECK = "model_predicts"
VISIT_RULES = ("pp.visit_pairing", "pp.absent_timer", "pp.default_period", "pp.period",
               "pp.live_count", "pp.live_paging")  # fmt: skip


def visits(target) -> None:
    """Entrance then exit make a visit (dates, cameras, duration in minutes); the absent
    timer closes a visit at exactly its minutes, not a second earlier; visit-list without a
    period holds a visit started exactly 24 hours ago, not 24 hours and a second; the live
    form counts every visit of the filter across its pages."""
    facts = target.facts
    clock = control(target, VISIT_RULES)
    try:
        if not facts.entrance_codes or not facts.exit_codes:
            LEDGER.cannot(VISIT_RULES, "no entrance and exit cameras")
            raise CouldNotProceed("no entrance and exit cameras")
        _visit_boundaries(target, clock, facts.entrance_codes[0], facts.exit_codes[0])
    finally:
        clock.release()


def _sight(target, code: str, plate: str) -> None:
    body = {"camera": code, "image": base64.b64encode(images.frames()[0]).decode("ascii"),
            "results": [{"plate": plate, "score": 0.9}]}  # fmt: skip
    reply = send(target, PP, "logVehicle", body=body, media_type="application/json")
    expect("pp.log_vehicle", f"log-vehicle {plate} at {code}", (200, "OK"),
           (reply.status_code, reply.json()))  # fmt: skip
    LEDGER.exercise("pp.log_vehicle", CHECK)


def _visits(target, query: dict) -> dict:
    reply = send(target, PP, "visitList", query=query)
    assert reply.status_code == 200, reply.text[:300]
    return reply.json()


def _rows(visits) -> list:
    """The documented bare array, or the live form's page (a server may answer either)."""
    return visits.get("results", []) if isinstance(visits, dict) else visits


def _code(camera) -> object:
    """A visit's camera as its code ("None" while absent, as the documented form writes it)."""
    return camera.get("code") if isinstance(camera, dict) else camera


def _absent_timer(target, code: str) -> int:
    for parking in send(target, PP, "parkingList").json():
        if code in [camera["code"] for camera in parking["camera_set"]]:
            return int(parking["absent_timer"])
    return 0


def _visit_boundaries(target, clock: Clock, entrance: str, exit_: str) -> None:
    tz = zone(target)
    start = clock.now.replace(microsecond=0) + timedelta(hours=1)
    clock.set(start)
    suffix = stamp(start)
    plate, lone = f"RP{suffix}", f"RQ{suffix}"
    minutes = _absent_timer(target, entrance)
    # each stay shorter than the absent timer, which would close it at its entrance first
    length = minutes * 60 - 37 if minutes else 1234
    stays = [(start, start + timedelta(seconds=length))]
    again = stays[0][1] + timedelta(seconds=10)
    stays.append((again, again + timedelta(seconds=length // 2)))
    for entered, left in stays:
        clock.to(entered)
        _sight(target, entrance, plate)
        clock.to(left)
        _sight(target, exit_, plate)
    predicted = [
        {"start_date": parkpow_date(entered, tz), "end_date": parkpow_date(left, tz),
         "duration": visit_duration(entered, left), "start_cam": entrance, "end_cam": exit_}
        for entered, left in reversed(stays)
    ]  # fmt: skip
    got, page = [], _visits(target, {"plate": plate, "page_size": "1"})
    for number in range(2, 5):
        expect("pp.live_count", f"estimated_count of plate={plate}", len(stays),
               page["estimated_count"])  # fmt: skip
        LEDGER.exercise("pp.live_count", CHECK)
        got += [
            {"start_date": v["start_date"], "end_date": v["end_date"], "duration": v["duration"],
             "start_cam": v["start_cam"]["code"], "end_cam": _code(v["end_cam"])}
            for v in page["results"]
        ]  # fmt: skip
        if not page.get("next"):
            break
        expect("pp.live_paging", "the next page's number", f"page={number}",
               next(p for p in page["next"].split("?")[1].split("&") if p.startswith("page=")))  # fmt: skip
        LEDGER.exercise("pp.live_paging", CHECK)
        page = _visits(target, {"plate": plate, "page_size": "1", "page": str(number)})
    expect("pp.visit_pairing", f"visits of {plate}", predicted, got)
    LEDGER.exercise("pp.visit_pairing", CHECK)
    # a visit belongs to a period when its start lies in it: the second stay's start exactly
    entered = stays[1][0]
    for window, count in (((entered, entered), 1), ((entered + timedelta(seconds=1), None), 0)):
        body = {"start": parkpow_date(window[0], tz)}
        if window[1] is not None:
            body["end"] = parkpow_date(window[1], tz)
        posted = send(target, PP, "visitListPost", body=body, media_type="application/json")
        mine = [v for v in _rows(posted.json()) if v["vehicle"]["license_plate"] == plate]
        expect("pp.period", f"visit-list {body}", count, len(mine))
        LEDGER.exercise("pp.period", CHECK)
    # the absent timer: open at `seen`, still open a second before its minutes, closed at them
    seen = clock.now + timedelta(seconds=10)
    clock.to(seen)
    _sight(target, entrance, lone)
    if minutes:
        for offset, end_date in (
            (minutes * 60 - 1, "None"),
            (minutes * 60, parkpow_date(seen, tz)),
        ):
            clock.to(seen + timedelta(seconds=offset))
            visits = _visits(target, {"plate": lone, "page_size": "5"})["results"]
            expect("pp.absent_timer", f"end_date of {lone}'s visit {offset} s after its sighting",
                   [end_date], [v["end_date"] for v in visits])  # fmt: skip
            LEDGER.exercise("pp.absent_timer", CHECK)
    else:
        LEDGER.cannot("pp.absent_timer", "the entrance camera's parking has no absent timer")
    # no period: the visits started in the 24 hours up to now, both ends included
    day = timedelta(hours=24)
    for offset, present in (
        (day - timedelta(seconds=1), True),
        (day, True),
        (day + timedelta(seconds=1), False),
    ):
        clock.to(seen + offset)
        listed = [
            v["vehicle"]["license_plate"] for v in _rows(send(target, PP, "visitList").json())
        ]
        expect("pp.default_period", f"visit-list without a period, {offset} after a visit started",
               present, lone in listed)  # fmt: skip
        LEDGER.exercise("pp.default_period", CHECK)
