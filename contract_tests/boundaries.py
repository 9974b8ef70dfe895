"""VisionAlert's rules at their boundaries, each reply predicted by the model of the suite's
own writes (:mod:`contract_tests.model`): the camera window and its ``Retry-After``, the
visibility delay, tag creation, the Date Filtering table at midnight and at exact
timestamps, the order of ties, the account throttle, the license size, the page-size clamp.

Every name and instant is derived from the server's clock when a scenario starts: the
same ``--contract-seed`` against the same world sends the same requests and gets the same
verdicts. Each scenario is a plain function of the target, so that the contract tests and
the mutant tests run the same code.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from . import images
from . import target as target_module
from .model import TOO_SOON, VisionAlertModel, alerts, expect, naive, zoned, zulu
from .rules import LEDGER
from .server_clock import (
    Clock,
    CouldNotProceed,
    control,
    midnight_after,
    settings,
    stamp,
    unthrottled,
    zone,
    zulu_micro,
)
from .suite import send

VA = "visionalert"
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
    "processing.offline",
    "reference.set",
    "alerts.window",
)
ACCOUNT_RULES = ("upload.account_throttle", "upload.license_size")


def uploads_filters_and_order(target) -> None:
    """One camera window, visibility delay, tag creation, and the Date Filtering table at
    midnight and at exact timestamps, every list compared row by row with the model."""
    clock = control(target, UPLOAD_RULES)
    try:
        with unthrottled(target):
            _uploads_filters_and_order(target, clock)
    finally:
        clock.release()


def account_throttle_and_license_size(target) -> None:
    """1 create-log per second (refused at +0 and +0.5 s, accepted at exactly +1 s, DRF's
    text and Retry-After saying the wait); a license of `size` cameras takes the size-th
    camera and refuses the next (403)."""
    clock = control(target, ACCOUNT_RULES)
    try:
        token = target.facts.throttled_token or _throttled_account(target, clock)
        _throttle_and_size(target, clock, token)
    finally:
        clock.release()


def _throttled_account(target, clock: Clock) -> str:
    """A live emulator: an account of its own (1/s, one empty license of 3 cameras), made
    through the control plane's seeding; without it the rules cannot be exercised."""
    from mockserver.testkit import seeds

    token = f"contract-rules-{stamp(clock.now)}"
    document = seeds.world(
        seeds.account(token, products=["visionalert"], rate_limit_per_second=1,
                      licenses=[seeds.license(f"LIC-{token}", size=3)])
    )  # fmt: skip
    reply = target.http("POST", "/_mock/seed", token=False, json=document)
    if reply.status_code != 201:
        reason = f"needs an account with the 1/s throttle and an empty license (/_mock/seed: {reply.status_code})"
        LEDGER.cannot(ACCOUNT_RULES, reason)
        raise CouldNotProceed(reason)
    return token


def page_size(target) -> None:
    """page_size 199, 200 and 201 on a list of more than 201 rows: 199, 200, 200; none: 50."""
    facts = target.facts
    license_id = facts.big_license_id or facts.license_id
    if license_id is None:
        LEDGER.cannot("page.size", "the token sees no VisionAlert license")
        raise CouldNotProceed("the token sees no VisionAlert license")
    path = {"license_id": license_id}
    whole = len(_cameras(target, license_id))
    if whole <= 201:
        LEDGER.cannot("page.size", f"no list of more than 201 rows (the largest has {whole})")
        raise CouldNotProceed("no list of more than 201 rows")
    for asked, predicted in (("199", 199), ("200", 200), ("201", 200), (None, 50)):
        query = {"page_size": asked} if asked else {}
        reply = send(target, VA, "listCameras", path_parameters=path, query=query)
        expect("page.size", f"cameras page_size={asked}", predicted, len(reply.json()["results"]))
        LEDGER.exercise("page.size", CHECK)


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
    else:
        expect("upload.camera_window", asked, {"message": TOO_SOON}, reply.json())
        got = (reply.headers.get("retry-after") or [None])[0]
        expect("upload.window_retry_after", asked, str(retry_after), got)
        LEDGER.exercise("upload.window_retry_after", CHECK)
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


def _uploads_filters_and_order(target, clock: Clock) -> None:
    license_id = target.facts.license_id
    if license_id is None:
        LEDGER.cannot(UPLOAD_RULES, "the token sees no VisionAlert license")
        raise CouldNotProceed("the token sees no VisionAlert license")
    tz = zone(target)
    rules_now = settings(target)
    window = float(rules_now.get("camera_window", 900))
    delay = float(rules_now.get("processing_delay", 5))
    model = VisionAlertModel(zone=tz, window=window)
    midnight = midnight_after(clock.now, tz)
    suffix = stamp(clock.now)
    a, b, c = (f"rule-{suffix}-{name}" for name in "abc")
    tag, more = f"rule-{suffix}", f"rule-{suffix}-more"
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
        raise CouldNotProceed("the new cameras joined another license")
    for step in (delay - 1, delay) if delay >= 1 else (delay,):
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
    _camera_statuses(target, model, license_id)
    _reference_set(target, license_id, c)
    offline_after = float(rules_now.get("offline_after", 0))
    _offline(target, clock, license_id, c, midnight, offline_after)
    _alerts(
        target, clock, model, license_id, offline_after, float(rules_now.get("alert_window", 0))
    )


def _cameras(target, license_id: int, status: str | None = None) -> list[dict]:
    cameras, query = [], {"page_size": "200", **({"status": status} if status else {})}
    for _ in range(50):
        reply = send(target, VA, "listCameras", path_parameters={"license_id": license_id},
                     query=query)  # fmt: skip
        page = reply.json()
        cameras += page["results"]
        if not page.get("next"):
            return cameras
        query = {k: v[-1] for k, v in parse_qs(urlsplit(page["next"]).query).items()}
    return cameras


def _filters(target, model, license_id, tag, more, midnight, a) -> None:
    tz = model.zone
    second = timedelta(seconds=1)
    last = midnight - second
    day_before, day = (
        last.astimezone(tz).date().isoformat(),
        midnight.astimezone(tz).date().isoformat(),
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
        ("dates.naive", {"tag": tag, "end": naive(last, tz)}),
        ("dates.naive", {"tag": tag, "start": naive(midnight, tz)}),
        ("dates.naive", {"tag": tag, "start": naive(last, tz), "end": naive(last, tz)}),
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


def _throttle_and_size(target, clock: Clock, token: str) -> None:
    licenses = send(target, VA, "listLicenses", token=token).json()
    size = sum(item["size"] for item in licenses)
    start = clock.now.replace(microsecond=0) + timedelta(seconds=1)
    clock.set(start)
    suffix = stamp(start)
    frame = images.frames()[1]

    def upload(serial: str):
        body = {"camera_id": f"size-{suffix}-{serial}", "upload": frame}
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


def _camera_statuses(target, model: VisionAlertModel, license_id: int) -> None:
    """``status`` filters cameras by their newest log's status: each of the suite's cameras
    is in the list of its status (the whole list walked), and in no other."""
    latest = {
        serial: max((log for log in model.logs if log.serial == serial), key=lambda log: log.created).status
        for serial in model.cameras
    }  # fmt: skip
    for status in sorted(set(latest.values())) + ["no_data"]:
        predicted = sorted(serial for serial, found in latest.items() if found == status)
        listed = {camera["serial"] for camera in _cameras(target, license_id, status)}
        got = sorted(serial for serial in latest if serial in listed)
        expect("filter.status", f"cameras status={status}", predicted, got)
        LEDGER.exercise("filter.status", CHECK)
        LEDGER.exercise("filter.complete", CHECK)


def _reference_set(target, license_id: int, serial: str) -> None:
    """A new reference: 201 with the seed's message, and GET shows another image."""
    path = {"license_id": license_id, "serial": serial}
    before = send(target, VA, "getReference", path_parameters=path).json()["reference_image"]
    reply = send(target, VA, "setReference", path_parameters=path,
                 body={"upload": images.frames()[3]}, media_type="multipart/form-data")  # fmt: skip
    expect("reference.set", f"set the reference of {serial}",
           (201, {"message": "Reference image updated."}), (reply.status_code, reply.json()))  # fmt: skip
    after = send(target, VA, "getReference", path_parameters=path).json()["reference_image"]
    expect("reference.set", f"reference of {serial} changed", True, bool(after) and after != before)
    LEDGER.exercise("reference.set", CHECK)


def _offline(target, clock: Clock, license_id: int, serial: str, since, limit: float) -> None:
    """``serial`` last uploaded at ``since``: no offline log a second before ``limit``, one
    at exactly ``since + limit``, snapshot null and anomalies empty."""
    if limit < 1:
        LEDGER.cannot("processing.offline", "offline_after is off on this server")
        return
    crossed = since + timedelta(seconds=limit)
    for at, predicted in ((crossed - timedelta(seconds=1), []), (crossed, [zulu(crossed)])):
        clock.to(at)
        rows = _log_ids(target, license_id, {"status": "offline"}, serial=serial)
        shown = [(row["created"], row["snapshot"], row["anomalies"]) for row in rows]
        expect("processing.offline", f"offline logs of {serial} at {zulu_micro(at)}",
               [(created, None, {}) for created in predicted], shown)  # fmt: skip
        LEDGER.exercise("processing.offline", CHECK)


def _alerts(target, clock: Clock, model, license_id: int, offline_after: float, window: float):
    """The suite's cameras turn offline ``offline_after`` after their last uploads (with the
    seed's windows: 0 s, 899 s and exactly 900 s after the first): the alerts they make,
    each listed once emitted, compared with the model's grouping."""
    if offline_after < 1 or window < 1:
        LEDGER.cannot("alerts.window", "offline_after or alert_window is off on this server")
        return
    turns = [
        (camera.last_accepted + timedelta(seconds=offline_after), serial)
        for serial, camera in model.cameras.items()
    ]
    mine = set(model.cameras)
    emitted = sorted({turned + timedelta(seconds=window) for turned, _ in turns})
    for at in sorted({emitted[0] - timedelta(seconds=1), *emitted}):
        clock.to(max(at, clock.now))
        reply = send(target, VA, "listAlerts", path_parameters={"license_id": license_id},
                     query={"page_size": "200"})  # fmt: skip
        got = [
            (alert["created"], sorted(entry["serial"] for entry in alert["cameras"]))
            for alert in reply.json()["results"]
            if mine & {entry["serial"] for entry in alert["cameras"]}
        ]
        predicted = [
            (created, serials) for created, serials in alerts(turns, window) if created <= zulu(at)
        ]
        expect("alerts.window", f"the suite's alerts at {zulu_micro(at)}", predicted, got)
        LEDGER.exercise("alerts.window", CHECK)
