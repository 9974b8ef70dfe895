"""Every rule at its boundary, each reply predicted by the model of what the suite did.

The suite writes (uploads, sightings) at instants it sets through the clock control
(``/_mock/clock``), records them in :mod:`contract_tests.model`, and compares each reply
with the prediction: the boundary itself (an upload exactly 900 s after the last accepted
one; a log created exactly at ``end``; midnight in the server timezone), one step inside
and one step outside it. Against a server without the clock control the rules that need
it are listed in the report as not exercised, with the reason.

Every name and instant is derived from the server's clock when the test starts: the same
``--contract-seed`` against the same world sends the same requests and gets the same
verdicts.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from . import images
from .model import (
    TOO_SOON,
    VisionAlertModel,
    expect,
    naive,
    parkpow_date,
    visit_duration,
    zoned,
    zulu,
)
from .rules import LEDGER
from .suite import send

VA, PP = "visionalert", "parkpow"
CHECK = "model_predicts"  # the name under which the model's comparisons are counted
UPLOAD_RULES = (
    "upload.accepted",
    "upload.camera_window",
    "upload.window_retry_after",
    "upload.tag",
    "processing.visible",
    "page.order",
    "filter.complete",
    "filter.tag",
    "dates.start_date",
    "dates.end_date",
    "dates.start_timestamp",
    "dates.end_timestamp",
    "dates.naive",
)
ACCOUNT_RULES = ("upload.account_throttle", "upload.license_size")
VISIT_RULES = ("pp.visit_pairing", "pp.absent_timer", "pp.default_period", "pp.period",
               "pp.live_count", "pp.live_paging")  # fmt: skip


class Clock:
    """The server's clock through its control plane: the instant of every write."""

    def __init__(self, target) -> None:
        self.target = target
        state = self._call("GET")
        self.was_frozen = bool(state.get("frozen"))
        self.now = self._parse(state["now"])

    @staticmethod
    def _parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)

    def _call(self, method: str, body: dict | None = None) -> dict:
        reply = self.target.http(method, "/_mock/clock", token=False, json=body)
        if reply.status_code != 200:
            raise RuntimeError(f"/_mock/clock answered {reply.status_code}")
        return reply.json()

    def set(self, instant: datetime) -> None:
        self.now = self._parse(self._call("POST", {"set": zulu_micro(instant)})["now"])

    def to(self, instant: datetime) -> None:
        """Forward to ``instant``, running the work that falls due on the way."""
        seconds = (instant - self.now).total_seconds()
        assert seconds >= 0, f"the clock only moves forward here ({self.now} → {instant})"
        if seconds:
            self._call("POST", {"advance": seconds})
        self.now = instant

    def release(self) -> None:
        """Back to wall time when the server ran on it (a live server)."""
        if self.target.options.live and not self.was_frozen:
            self._call("POST", {"real": True})


def zulu_micro(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _zone(target):
    name = target.options.server_timezone
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def _control(target, rules: tuple[str, ...]) -> Clock:
    """The clock control, or the rules listed as not exercised and the test skipped."""
    if not target.options.writes_allowed:
        LEDGER.cannot(rules, "changes state: run with --allow-writes")
        pytest.skip("could not proceed: the rules need writes (--allow-writes)")
    try:
        return Clock(target)
    except (RuntimeError, KeyError, ValueError) as error:
        reason = (
            f"needs the clock control (/_mock/clock: {error}); in real time the boundary "
            "instant cannot be hit exactly"
        )
        LEDGER.cannot(rules, reason)
        pytest.skip(f"could not proceed: {reason}")


def _settings(target) -> dict:
    reply = target.http("GET", "/_mock/settings", token=False)
    return reply.json() if reply.status_code == 200 else {}


def _midnight_after(instant: datetime, zone) -> datetime:
    """The first midnight of the server timezone at least an hour after ``instant``."""
    local = (instant + timedelta(hours=1)).astimezone(zone)
    day = local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _stamp(instant: datetime) -> str:
    """A short name part derived from the server's clock (same world, same names)."""
    return f"{int(instant.timestamp()) % 1_000_000:06d}"


@pytest.fixture
def unthrottled(contract_target):
    """The token's create-log throttle off for the test (through the control plane), so
    that two cameras can upload at one instant; restored afterwards."""
    path = f"/_mock/accounts/{contract_target.token}/rate-limit"
    before = contract_target.http("GET", path, token=False)
    rate = before.json().get("rate_limit_per_second") if before.status_code == 200 else None
    if rate is not None:
        contract_target.http("POST", path, token=False, json={"rate_limit_per_second": None})
    yield
    if rate is not None:
        contract_target.http("POST", path, token=False, json={"rate_limit_per_second": rate})


# -- VisionAlert: uploads, visibility, filters, order ---------------------------------------


def _upload(
    target, model: VisionAlertModel, clock: Clock, serial: str, tag: str | None, token=None
):
    """create-log at the clock's instant; the reply compared with the model's prediction."""
    body = {"camera_id": serial, "upload": images.frames()[1]}
    if tag:
        body["tag"] = tag
    status, retry_after = model.predict_upload(serial, clock.now)
    reply = send(target, VA, "createLog", body=body, media_type="multipart/form-data", token=token)
    asked = f"create-log {serial} at {zulu_micro(clock.now)}"
    expect("upload.camera_window", asked, status, reply.status_code)
    LEDGER.exercise("upload.camera_window", CHECK)
    if status == 200:
        expect("upload.accepted", asked, {"message": "Log created successfully."}, reply.json())
        LEDGER.exercise("upload.accepted", CHECK)
        model.accepted(serial, clock.now, tag)
        target.facts.owned_serials.append(serial)
    else:
        expect("upload.camera_window", asked, {"message": TOO_SOON}, reply.json())
        got = (reply.headers.get("retry-after") or [None])[0]
        expect("upload.window_retry_after", asked, str(retry_after), got)
        LEDGER.exercise("upload.window_retry_after", CHECK)
    from . import target as target_module

    target_module.CREATED.add(serial)
    return reply


def _log_ids(target, license_id: int, query: dict[str, str], serial: str | None = None):
    if serial is None:
        reply = send(target, VA, "listLicenseLogs", path_parameters={"license_id": license_id},
                     query={**query, "page_size": "200"})  # fmt: skip
    else:
        reply = send(target, VA, "listCameraLogs",
                     path_parameters={"license_id": license_id, "serial": serial},
                     query={**query, "page_size": "200"})  # fmt: skip
    assert reply.status_code == 200, reply.text[:300]
    return reply.json()["results"]


def test_uploads_filters_and_order_at_their_boundaries(contract_target, unthrottled):
    """One camera window, visibility delay, tag creation, and the Date Filtering table at
    midnight and at exact timestamps, every list compared row by row with the model."""
    target = contract_target
    clock = _control(target, UPLOAD_RULES)
    try:
        _uploads_filters_and_order(target, clock)
    finally:
        clock.release()


def _uploads_filters_and_order(target, clock: Clock) -> None:
    license_id = target.facts.license_id
    if license_id is None:
        LEDGER.cannot(UPLOAD_RULES, "the token sees no VisionAlert license")
        pytest.skip("could not proceed: the token sees no VisionAlert license")
    zone = _zone(target)
    settings = _settings(target)
    window = float(settings.get("camera_window", 900))
    delay = float(settings.get("processing_delay", 5))
    model = VisionAlertModel(zone=zone, window=window)
    midnight = _midnight_after(clock.now, zone)
    stamp = _stamp(clock.now)
    a, b, c = (f"rule-{stamp}-{name}" for name in "abc")
    tag, more = f"rule-{stamp}", f"rule-{stamp}-more"
    second = timedelta(seconds=1)
    last = midnight - second  # 23:59:59 of the day before, in the server timezone
    clock.set(last)
    _upload(target, model, clock, a, tag)
    _upload(target, model, clock, b, tag)  # a tie on created with a
    clock.to(midnight)
    _upload(target, model, clock, c, tag)
    # the camera window of a: half-way, one second before its end, at its end, after it
    for offset in (window / 2, window - 1):
        clock.to(last + timedelta(seconds=offset))
        _upload(target, model, clock, a, None)
    clock.to(last + timedelta(seconds=window))
    _upload(target, model, clock, a, more)  # the boundary: accepted, and a second tag
    clock.to(last + timedelta(seconds=window + 1))
    _upload(target, model, clock, b, None)  # one step outside the window
    # visibility: b's newest log is not there one second before the delay, then is
    latest = clock.now
    listed = sorted(camera["serial"] for camera in _cameras(target, license_id))
    if a not in listed:
        LEDGER.cannot(UPLOAD_RULES, "the suite's cameras joined another license")
        pytest.skip("could not proceed: the new cameras joined another license")
    for step in (delay - 1, delay):
        clock.to(latest + timedelta(seconds=step))
        got = [log["created"] for log in _log_ids(target, license_id, {}, serial=b)]
        predicted = [
            zulu(log.created) for log in model.select(model.visible(clock.now, delay), {}, b)
        ]
        expect("processing.visible", f"logs of {b} at {zulu_micro(clock.now)}", predicted, got)
        LEDGER.exercise("processing.visible", CHECK)
    # learn the ids and statuses of the suite's logs (a camera's own list, in order)
    for serial in (a, b, c):
        rows = _log_ids(target, license_id, {}, serial=serial)
        mine = [log for log in model.logs if log.serial == serial]
        expect("processing.visible", f"created of {serial}'s logs",
               [zulu(log.created) for log in reversed(mine)], [row["created"] for row in rows])  # fmt: skip
        for log, row in zip(reversed(mine), rows, strict=True):
            log.id, log.status = row["id"], row["status"]
    tags = {camera["serial"]: set(camera["tags"]) for camera in _cameras(target, license_id)}
    expect(
        "upload.tag", f"tags of {a} after uploads tagged {tag}, then {more}", {tag, more}, tags[a]
    )
    LEDGER.exercise("upload.tag", CHECK)
    _filters(target, model, license_id, tag, more, midnight, a)


def _cameras(target, license_id: int) -> list[dict]:
    cameras, query = [], {"page_size": "200"}
    for _ in range(50):
        reply = send(target, VA, "listCameras", path_parameters={"license_id": license_id},
                     query=query)  # fmt: skip
        page = reply.json()
        cameras += page["results"]
        if not page.get("next"):
            return cameras
        from urllib.parse import parse_qs, urlsplit

        query = {k: v[-1] for k, v in parse_qs(urlsplit(page["next"]).query).items()}
    return cameras


def _filters(target, model, license_id, tag, more, midnight, a) -> None:
    zone = model.zone
    second = timedelta(seconds=1)
    last = midnight - second
    day_before, day = (
        last.astimezone(zone).date().isoformat(),
        midnight.astimezone(zone).date().isoformat(),
    )
    window_end = last + timedelta(seconds=model.window)
    statuses = sorted({log.status for log in model.logs if log.status})
    cases = [
        ("filter.tag", {"tag": tag}),
        ("filter.tag", {"tag": more}),  # a's logs, those before the tag was added too
        ("dates.end_date", {"tag": tag, "end": day_before}),  # 23:59:59 in, midnight out
        ("dates.end_date", {"tag": tag, "end": day}),
        ("dates.start_date", {"tag": tag, "start": day}),  # midnight in, 23:59:59 out
        ("dates.start_date", {"tag": tag, "start": day_before}),
        ("dates.end_timestamp", {"tag": tag, "end": zulu(last - second)}),  # outside
        ("dates.end_timestamp", {"tag": tag, "end": zulu(last)}),  # the boundary
        ("dates.end_timestamp", {"tag": tag, "end": zulu(midnight)}),  # inside
        ("dates.end_timestamp", {"tag": tag, "end": zoned(last, 2)}),  # zoned
        ("dates.start_timestamp", {"tag": tag, "start": zulu(midnight + second)}),
        ("dates.start_timestamp", {"tag": tag, "start": zulu(midnight)}),
        ("dates.start_timestamp", {"tag": tag, "start": zulu(last)}),
        ("dates.start_timestamp", {"tag": tag, "start": zoned(midnight, -5)}),
        ("dates.naive", {"tag": tag, "end": naive(last, zone)}),
        ("dates.naive", {"tag": tag, "start": naive(midnight, zone)}),
        ("dates.naive", {"tag": tag, "start": naive(last, zone), "end": naive(last, zone)}),
        ("filter.complete", {"tag": tag, "serial": a}),
        ("filter.complete", {"tag": tag, "serial": a, "end": zulu(window_end)}),
        ("filter.complete", {"tag": more, "start": day_before, "end": zulu(window_end - second)}),
        *(("filter.complete", {"tag": tag, "status": status}) for status in statuses),
        (
            "filter.complete",
            {"tag": tag, "status": "anomaly" if "anomaly" not in statuses else "offline"},
        ),
    ]
    for rule, query in cases:
        predicted = [log.id for log in model.select(model.logs, query)]
        got = [row["id"] for row in _log_ids(target, license_id, query)]
        expect(rule, f"license logs {query}", predicted, got)
        for name in {rule, "filter.complete", "page.order"}:
            LEDGER.exercise(name, CHECK)
    # a camera's own list at the window's end: the log exactly at `end` is in it
    for query in (
        {"end": zulu(window_end)},
        {"end": zulu(window_end - second)},
        {"start": zulu(window_end)},
    ):
        predicted = [log.id for log in model.select(model.logs, query, serial=a)]
        got = [row["id"] for row in _log_ids(target, license_id, query, serial=a)]
        rule = "dates.end_timestamp" if "end" in query else "dates.start_timestamp"
        expect(rule, f"logs of {a} {query}", predicted, got)
        LEDGER.exercise(rule, CHECK)


# -- VisionAlert: the account's throttle and its licenses' size ----------------------------


def test_account_throttle_and_license_size_at_their_boundaries(contract_target):
    """1 create-log per second (refused at +0 and +0.5 s, accepted at exactly +1 s, DRF's
    text and Retry-After saying the wait); a license of `size` cameras takes the size-th
    camera and refuses the next (403)."""
    target = contract_target
    token = target.facts.throttled_token
    if token is None:
        reason = "needs an account with the 1/s throttle and an empty license (in-process world)"
        LEDGER.cannot(ACCOUNT_RULES, reason)
        pytest.skip(f"could not proceed: {reason}")
    clock = _control(target, ACCOUNT_RULES)
    try:
        _throttle_and_size(target, clock, token)
    finally:
        clock.release()


def _throttle_and_size(target, clock: Clock, token: str) -> None:
    licenses = send(target, VA, "listLicenses", token=token).json()
    size = sum(item["size"] for item in licenses)
    start = clock.now.replace(microsecond=0) + timedelta(seconds=1)
    clock.set(start)
    stamp = _stamp(start)
    frame = images.frames()[1]

    def upload(serial: str):
        body = {"camera_id": f"size-{stamp}-{serial}", "upload": frame}
        return send(target, VA, "createLog", body=body, media_type="multipart/form-data",
                    token=token)  # fmt: skip

    first = upload("0")
    expect("upload.account_throttle", "first upload", 200, first.status_code)
    for offset, wait in ((0.0, 1), (0.5, 1)):  # inside the second: refused, 1 second to wait
        clock.to(start + timedelta(seconds=offset))
        refused = upload(f"early{offset}")
        asked = f"create-log {offset} s after an accepted one"
        expect("upload.account_throttle", asked, 429, refused.status_code)
        text = f"Request was throttled. Expected available in {wait} second{'s' * (wait != 1)}."
        expect("upload.account_throttle", asked, {"detail": text}, refused.json())
        expect("upload.account_throttle", asked, str(wait), refused.headers["retry-after"][0])
        LEDGER.exercise("upload.account_throttle", CHECK)
    for index in range(1, size + 1):  # one second apart: the throttle's boundary each time
        clock.to(start + timedelta(seconds=index))
        reply = upload(str(index))
        asked = f"camera {index + 1} of licenses holding {size}, {index} s after the last"
        status = 200 if index < size else 403
        expect("upload.license_size", asked, status, reply.status_code)
        expect("upload.account_throttle", asked, status, reply.status_code)
        LEDGER.exercise("upload.account_throttle", CHECK)
        LEDGER.exercise("upload.license_size", CHECK)
    listed = send(target, VA, "listCameras", token=token,
                  path_parameters={"license_id": licenses[0]["id"]}, query={"page_size": "200"})  # fmt: skip
    expect(
        "upload.license_size", "cameras of the full license", size, len(listed.json()["results"])
    )


# -- VisionAlert: the page-size clamp -------------------------------------------------------


def test_page_size_at_its_boundary(contract_target):
    """page_size 199, 200 and 201 on a list of more than 201 rows: 199, 200, 200; none: 50."""
    facts = contract_target.facts
    license_id = facts.big_license_id or facts.license_id
    if license_id is None:
        LEDGER.cannot("page.size", "the token sees no VisionAlert license")
        pytest.skip("could not proceed: the token sees no VisionAlert license")
    path = {"license_id": license_id}
    whole = len(_cameras(contract_target, license_id))
    if whole <= 201:
        LEDGER.cannot("page.size", f"no list of more than 201 rows (the largest has {whole})")
        pytest.skip("could not proceed: no list of more than 201 rows")
    for asked, predicted in (("199", 199), ("200", 200), ("201", 200), (None, 50)):
        query = {"page_size": asked} if asked else {}
        reply = send(contract_target, VA, "listCameras", path_parameters=path, query=query)
        expect("page.size", f"cameras page_size={asked}", predicted, len(reply.json()["results"]))
        LEDGER.exercise("page.size", CHECK)


# -- ParkPow: visits ---------------------------------------------------------------------


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


def test_visits_at_their_boundaries(contract_target):
    """Entrance then exit make a visit (dates, cameras, duration in minutes); the absent
    timer closes a visit at exactly its minutes, not a second earlier; visit-list without a
    period holds a visit started exactly 24 hours ago, not 24 hours and a second; the live
    form counts every visit of the filter across its pages."""
    target = contract_target
    facts = target.facts
    clock = _control(target, VISIT_RULES)
    try:
        if not facts.entrance_codes or not facts.exit_codes:
            LEDGER.cannot(VISIT_RULES, "no entrance and exit cameras")
            pytest.skip("could not proceed: no entrance and exit cameras")
        _visit_boundaries(target, clock, facts.entrance_codes[0], facts.exit_codes[0])
    finally:
        clock.release()


def _code(camera) -> object:
    """A visit's camera as its code ("None" while absent, as the documented form writes it)."""
    return camera.get("code") if isinstance(camera, dict) else camera


def _absent_timer(target, code: str) -> int:
    for parking in send(target, PP, "parkingList").json():
        if code in [camera["code"] for camera in parking["camera_set"]]:
            return int(parking["absent_timer"])
    return 0


def _visit_boundaries(target, clock: Clock, entrance: str, exit_: str) -> None:
    zone = _zone(target)
    start = clock.now.replace(microsecond=0) + timedelta(hours=1)
    clock.set(start)
    stamp = _stamp(start)
    plate, lone = f"RP{stamp}", f"RQ{stamp}"
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
        {"start_date": parkpow_date(entered, zone), "end_date": parkpow_date(left, zone),
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
        body = {"start": parkpow_date(window[0], zone)}
        if window[1] is not None:
            body["end"] = parkpow_date(window[1], zone)
        posted = send(target, PP, "visitListPost", body=body, media_type="application/json").json()
        mine = [v for v in posted if v["vehicle"]["license_plate"] == plate]
        expect("pp.period", f"visit-list {body}", count, len(mine))
        LEDGER.exercise("pp.period", CHECK)
    # the absent timer: open at `seen`, still open a second before its minutes, closed at them
    seen = clock.now + timedelta(seconds=10)
    clock.to(seen)
    _sight(target, entrance, lone)
    if minutes:
        for offset, end_date in (
            (minutes * 60 - 1, "None"),
            (minutes * 60, parkpow_date(seen, zone)),
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
        listed = [v["vehicle"]["license_plate"] for v in send(target, PP, "visitList").json()]
        expect("pp.default_period", f"visit-list without a period, {offset} after a visit started",
               present, lone in listed)  # fmt: skip
        LEDGER.exercise("pp.default_period", CHECK)
