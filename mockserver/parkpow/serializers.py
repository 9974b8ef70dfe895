"""ParkPow reply shapes, quirks included, as the seed's examples show them.

parking-list and visit-list render a camera's ``type`` as its display label and every
absent value as the string ``"None"`` (the vendor renders Python's ``None`` as text);
present numbers stay numbers. create-camera and create-vehicle echo what was stored.
"""

from __future__ import annotations

import json
from datetime import tzinfo

from sqlalchemy import Row

from ..core.timefmt import iso_naive
from .forms import CameraInput, VehicleInput

ABSENT = "None"
TYPE_LABELS = {"ENTRANCE": "Entrance", "EXIT": "Exit", "SPOT": "Spot"}
AUTHORIZED = "Authorized"
UNKNOWN = "Unknown"
MINUTE_US = 60_000_000


def _shown(value):
    return ABSENT if value is None else value


def camera(code, name, kind, latitude, longitude, notes) -> dict:
    return {
        "code": code,
        "name": name,
        "type": TYPE_LABELS.get(kind, kind),
        "latitude": _shown(latitude),
        "longitude": _shown(longitude),
        "notes": _shown(notes),
    }


def parking_list(parkings: list[tuple[Row, list[Row]]]) -> list[dict]:
    return [
        {
            "camera_set": [
                camera(c.code, c.name, c.type, c.latitude, c.longitude, c.notes) for c in cameras
            ],
            "name": parking.name,
            "parking_spaces": parking.parking_spaces,
            "absent_timer": parking.absent_timer,
        }
        for parking, cameras in parkings
    ]


def camera_echo(row: Row, sent: CameraInput) -> dict:
    """The stored camera in create-camera's shape: code, name, type, then the optional
    fields the client sent, under the keys it used (``Notes`` or ``notes``)."""
    body: dict = {"code": row.code, "name": row.name, "type": row.type}
    for key in sent.echo_keys:
        column = "notes" if key in ("notes", "Notes") else key
        body[key] = getattr(row, column)
    if sent.parking is not None:
        body["parking"] = sent.parking
    return body


def vehicle_echo(row: Row, sent: VehicleInput) -> dict:
    """The stored vehicle: its plate, then the fields the client sent."""
    body: dict = {"license_plate": row.license_plate}
    for key in sent.changes:
        value = getattr(row, key)
        body[key] = _number_if_whole(value) if key == "payment_status" else value
    return body


def _number_if_whole(value: str | None):
    """The seed echoes ``payment_status`` 0 as a number, form-encoded or not."""
    digits = value.strip().lstrip("-") if value is not None else ""
    if digits.isascii() and digits.isdigit() and len(value) < 19:
        return int(value)
    return value


def duration_minutes(start_us: int, end_us: int | None):
    if end_us is None:
        return ABSENT
    return round((end_us - start_us) / MINUTE_US, 2)


def visit(row: Row, media_url, tz: tzinfo) -> dict:
    """One visit as in the seed example; ``media_url(name)`` makes absolute image URLs."""

    def cam(prefix: str):
        code = getattr(row, f"{prefix}_code")
        if code is None:
            return ABSENT
        return camera(
            code,
            getattr(row, f"{prefix}_name"),
            getattr(row, f"{prefix}_type"),
            getattr(row, f"{prefix}_latitude"),
            getattr(row, f"{prefix}_longitude"),
            getattr(row, f"{prefix}_notes"),
        )

    def prediction(text: str | None):
        return ABSENT if text is None else json.loads(text)

    def image(name: str | None):
        return ABSENT if name is None else media_url(name)

    return {
        "id": row.id,
        "vehicle": {
            "license_plate": row.license_plate,
            "status": UNKNOWN if row.vehicle_id is None else AUTHORIZED,
        },
        "start_cam": cam("start_cam"),
        "end_cam": cam("end_cam"),
        "start_img": image(row.start_media_name),
        "end_img": image(row.end_media_name),
        "duration": duration_minutes(row.start_us, None if row.open else row.end_us),
        "start_date": iso_naive(row.start_us, tz),
        "start_prediction": prediction(row.start_prediction),
        "end_date": ABSENT if row.open or row.end_us is None else iso_naive(row.end_us, tz),
        "end_prediction": prediction(row.end_prediction),
    }
