"""Generation the specs alone cannot express: real images, realistic dates, live ids.

* Multipart files declared ``image/jpeg`` / ``image/png`` get real camera frames.
* ``date`` and ``date-time`` values stay in years a server stores (1971–2099), offsets
  within ±14 h: the contract is about the API, not about the year 0.
* Positive cases are *steered*: most of them use a license id, serial or camera code that
  exists for the token (otherwise nearly every generated id is a 404 and the success paths
  go untested); some keep the generated value, so unknown ids stay covered. The choice
  is a hash of the generated case, so a failing example replays identically.
* Fields the spec types as "JSON inside a string" (log-vehicle's ``results``) or "base64
  JPEG" get valid content in positive cases.
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime, timedelta, timezone

import schemathesis
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

from . import images
from .world import Facts

_REGISTERED = False


def register() -> None:
    """Install the media-type and format strategies (once per process)."""
    global _REGISTERED
    if _REGISTERED:
        return
    _REGISTERED = True
    schemathesis.openapi.media_type("image/jpeg", st.sampled_from(images.frames("jpeg")))
    schemathesis.openapi.media_type("image/png", st.sampled_from(images.frames("png")))
    schemathesis.openapi.media_type("text/csv", st.sampled_from(VEHICLE_CSVS))
    moments = st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), allow_imaginary=False
    )
    offsets = st.sampled_from([0, 0, 0, 60, -300, 330, 480, 600, -720, 840])
    schemathesis.openapi.format("date", moments.map(lambda moment: moment.strftime("%Y-%m-%d")))
    schemathesis.openapi.format(
        "date-time",
        st.builds(_rfc3339, moments, offsets, st.booleans()),
    )


#: import-vehicles files: the file-import tool's header, and the minimal one
VEHICLE_CSVS = [
    b"timezone,created_date,created_time,license_plate,region,make,model,color,type,"
    b"payment_status,field1,field2,field3,field4,field5,field6,Vehicle Tags\n"
    b'UTC,2026-04-01,10:00:00,CSV001,us-ca,Ford,Focus,red,Sedan,0,a,,,,,,"staff,vip"\n',
    b"license_plate,Vehicle Tags\nCSV002,staff\nCSV003,\n",
]


def _rfc3339(moment: datetime, offset_minutes: int, fraction: bool) -> str:
    zone = UTC if offset_minutes == 0 else timezone(timedelta(minutes=offset_minutes))
    text = moment.replace(tzinfo=zone).isoformat(timespec="microseconds" if fraction else "seconds")
    return text.replace("+00:00", "Z")


def _positive_at(case, location: ParameterLocation) -> bool:
    meta = case.meta
    if meta is None:
        return True
    component = meta.components.get(location)
    if component is None:
        return meta.generation.mode == GenerationMode.POSITIVE
    return component.mode == GenerationMode.POSITIVE


def _pick(seed: object, choices: list, keep_one_in: int = 5):
    """A deterministic choice among ``choices``, or None (keep the generated value)."""
    if not choices:
        return None
    bucket = zlib.crc32(repr(seed).encode()) % (len(choices) * keep_one_in)
    return None if bucket >= len(choices) * (keep_one_in - 1) else choices[bucket % len(choices)]


def steer(case, facts: Facts | None) -> None:
    """Point a positive case at data that exists; give JSON-in-string fields valid content."""
    if facts is None:
        return
    operation_id = case.operation.definition.raw.get("operationId", "")
    if operation_id == "createCamera" and isinstance(case.body, dict):
        one_notes_field(case.body)
    params = case.path_parameters
    if params is not None and _positive_at(case, ParameterLocation.PATH):
        if "license_id" in params and facts.license_id is not None:
            licenses = [facts.license_id]
            if operation_id == "listCameras" and facts.big_license_id is not None:
                licenses.append(facts.big_license_id)  # more than 200 cameras: pages must clamp
            choice = _pick(("license", params.get("license_id")), licenses)
            if choice is not None:
                params["license_id"] = choice
        size = str((case.query or {}).get("page_size", ""))
        if (
            operation_id == "listCameras"
            and size.isdigit()
            and int(size) > 50
            and facts.big_license_id
        ):
            params["license_id"] = facts.big_license_id  # a big page asked: show whether it clamps
        if "serial" in params and params.get("license_id") == facts.license_id:
            serials = facts.owned_serials if operation_id == "deleteCamera" else facts.serials
            choice = _pick(("serial", params.get("serial")), list(serials[:8]))
            if choice is not None:
                params["serial"] = choice
    if case.query and _positive_at(case, ParameterLocation.QUERY):
        _steer_parkpow_tool_query(operation_id, case.query, facts)
        for name in ("serial", "tag", "license"):
            if isinstance(case.query.get(name), str):
                case.query[name] = _plain(case.query[name], 64, blank_ok=True)
    body = case.body
    if isinstance(body, dict) and _positive_at(case, ParameterLocation.BODY):
        _sanitize(operation_id, body, case.media_type or "")
        if operation_id == "logVehicle":
            _steer_log_vehicle(case, body, facts)
        elif operation_id in PARKPOW_TOOL_BODIES:
            PARKPOW_TOOL_BODIES[operation_id](case, body, facts)
        elif operation_id == "createLog" and isinstance(body.get("camera_id"), str):
            serial = _pick(("camera", body["camera_id"]), list(facts.serials[:3]), keep_one_in=2)
            if serial is not None:
                body["camera_id"] = serial


#: text fields whose length and alphabet the seeds leave open: positive cases stay in the
#: range every server accepts (a server may reject "/" in an id or cap lengths; the spec
#: does not forbid either, and the suite demands neither)
TEXT_FIELDS = {
    "createLog": {"camera_id": 64, "tag": 64},
    "createCamera": {"code": 64, "name": 64, "notes": 200, "Notes": 200},
    "createVehicle": {
        "license_plate": 16,
        "payment_status": 16,
        **{f"field{i}": 200 for i in range(1, 7)},
    },
    "logVehicle": {"camera": 64},
}
BLANK_OK = {"notes", "Notes", "payment_status", *(f"field{i}" for i in range(1, 7))}
COORDINATES = {"latitude": 90.0, "longitude": 180.0}


def _plain(value: str, limit: int, blank_ok: bool = False) -> str:
    text = "".join(ch for ch in value if (ch.isascii() and ch.isalnum()) or ch in " -_.:")
    text = text.strip()[:limit].strip()
    return (
        text
        if text or blank_ok
        else "cam-" + str(zlib.crc32(value.encode("utf-8", "replace")) % 1000)
    )


def one_notes_field(body: dict) -> None:
    """``notes`` and ``Notes`` are one field: send one, the invalid one if either is."""
    if "notes" in body and "Notes" in body:
        valid = lambda value: value is None or isinstance(value, str | int | float)  # noqa: E731
        drop = "notes" if valid(body["notes"]) and not valid(body["Notes"]) else "Notes"
        del body[drop]


def _sanitize(operation_id: str, body: dict, media_type: str) -> None:
    if not media_type.startswith("application/json"):
        # a form cannot carry null: an optional field without a value is simply absent
        for name in [name for name, value in body.items() if value is None]:
            del body[name]
    for name, limit in TEXT_FIELDS.get(operation_id, {}).items():
        if isinstance(body.get(name), str):
            body[name] = _plain(body[name], limit, blank_ok=name in BLANK_OK)
    if operation_id == "createCamera":
        for name, bound in COORDINATES.items():
            value = body.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                body[name] = max(-bound, min(bound, value))
    moment = body.get("time") if operation_id == "logVehicle" else None
    if isinstance(moment, int | float) and not isinstance(moment, bool):
        seconds = max(0, min(4_102_444_800, moment))  # seconds since the epoch, before 2100
        if media_type.startswith("application/json"):
            body["time"] = seconds
        else:  # a form field is text: the documented format
            instant = datetime.fromtimestamp(seconds, UTC)
            body["time"] = instant.strftime("%Y-%m-%d %H:%M:%S.%f+0000")
    if operation_id == "logVehicle" and isinstance(body.get("results"), list):
        for item in body["results"]:
            if isinstance(item, dict) and isinstance(item.get("plate"), str):
                item["plate"] = _plain(item["plate"], 16)


def _steer_log_vehicle(case, body: dict, facts: Facts) -> None:
    seed = repr(sorted(body.items(), key=lambda item: item[0]))[:200]
    code = _pick(("code", seed), facts.entrance_codes + facts.exit_codes + facts.camera_codes[:2])
    if code is not None and "camera" in body:
        body["camera"] = code
    is_json = (case.media_type or "").startswith("application/json")
    if "results" in body and not is_json and not _plates_json(body["results"]):
        body["results"] = json.dumps(_plates(seed))
    if is_json and "image" in body:
        frame = images.frames()[zlib.crc32(seed.encode()) % len(images.frames())]
        body["image"] = base64.b64encode(frame).decode("ascii")


def _plates(seed: str) -> list[dict]:
    plates = ["ABC1234", "QWE1234", "PECT600", "XYZ987"]
    index = zlib.crc32(seed.encode()) % len(plates)
    return [
        {
            "plate": plates[index],
            "score": 0.9,
            "box": {"xmin": 10, "ymin": 20, "xmax": 110, "ymax": 60},
        }
    ]


def _plates_json(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = json.loads(value)
    except ValueError:
        return False
    return (
        isinstance(parsed, list)
        and bool(parsed)
        and all(isinstance(item, dict) and isinstance(item.get("plate"), str) for item in parsed)
    )


# -- ParkPow, beyond the published document -------------------------------------------------


def _webhook_payload(seed: str, facts: Facts) -> dict:
    """A Stream recognition (or Snapshot image.done) that a real camera would send."""
    codes = facts.entrance_codes + facts.exit_codes + facts.camera_codes[:2] or ["101"]
    crc = zlib.crc32(seed.encode())
    plates = _plates(seed)
    if crc % 3 == 0:  # vehicle mode: plate an object with props, or null
        plates = [{"plate": {"type": "Plate", "score": 0.6,
                             "props": {"plate": [{"value": plates[0]["plate"], "score": 0.9}]}}},
                  {"plate": None, "vehicle": {"type": "Sedan", "score": 0.8}}]  # fmt: skip
    event = "image.done" if crc % 5 == 0 else "recognition"
    return {
        "hook": {"target": "http://localhost/api/v1/webhook-receiver/", "id": codes[crc % len(codes)],
                 "event": event},
        "data": {"camera_id": codes[crc % len(codes)], "timestamp": "2026-04-09T17:00:00Z",
                 "results": plates},
    }  # fmt: skip


def _steer_webhook(case, body: dict, facts: Facts) -> None:
    seed = repr(sorted(body.items(), key=lambda item: item[0]))[:200]
    payload = _webhook_payload(seed, facts)
    if (case.media_type or "").startswith("application/json"):
        body.clear()
        body.update(payload)
    else:
        body["json"] = json.dumps(payload)


def _steer_id(body: dict, name: str, ids: list[int], seed: object) -> None:
    if name not in body:
        return
    choice = _pick((name, seed), ids[:8], keep_one_in=3)
    if choice is not None:
        body[name] = choice


def _steer_delete_visit(case, body: dict, facts: Facts) -> None:
    # against a live server only visits the suite made may go; in-process the world is rebuilt
    _steer_id(body, "id", facts.owned_visit_ids, body.get("id"))


def _steer_trigger_alert(case, body: dict, facts: Facts) -> None:
    _steer_id(body, "visit_id", facts.visit_ids, body.get("visit_id"))


PARKPOW_TOOL_BODIES = {
    "webhookReceiver": _steer_webhook,
    "deleteVisit": _steer_delete_visit,
    "triggerAlert": _steer_trigger_alert,
}


def _steer_parkpow_tool_query(operation_id: str, query: dict, facts: Facts) -> None:
    if operation_id == "editTags":
        _steer_id(query, "tag_id", facts.tag_ids, query.get("tag_id"))
        _steer_id(query, "vehicle_id", facts.vehicle_ids, query.get("vehicle_id"))
    elif operation_id == "taskCheck" and "task_id" in query:
        choice = _pick(("task", query["task_id"]), facts.task_ids, keep_one_in=3)
        if choice is not None:
            query["task_id"] = choice
