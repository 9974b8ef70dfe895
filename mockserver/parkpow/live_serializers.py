"""The live service's visit object, as ParkPow's replies to its own tools show it.

Captured replies of the live ``log-vehicle`` (the vendor's test fixtures) differ from the
published examples: absent values are JSON ``null`` (not ``"None"``), a camera's ``type`` is
a number, dates carry their UTC offset, and ``start_data``/``end_data`` hold the whole ALPR
result the visit started and ended with. webhook-receiver replies with a list of these.

Numbers the evidence does not pin down are the emulator's reading (README, "Beyond the
published documentation"): camera types ENTRANCE 0, EXIT 1, SPOT 2; orientations Front 0,
Rear 1 (as in the fixtures), Unknown 2.
"""

from __future__ import annotations

import json
from datetime import tzinfo

from sqlalchemy import Row

from ..core.timefmt import from_us
from . import serializers
from .live_visits import VisitListing
from .paging import envelope
from .serializers import duration_minutes
from .webhook_payload import read_score

CAMERA_TYPE_NUMBERS = {"ENTRANCE": 0, "EXIT": 1, "SPOT": 2}
ORIENTATION_NUMBERS = {"front": 0, "rear": 1, "unknown": 2}


def iso_offset(instant_us: int | None, tz: tzinfo) -> str | None:
    """``2024-10-18T02:04:50.098000+03:00``: the server timezone, offset written out."""
    if instant_us is None:
        return None
    return from_us(instant_us, tz).isoformat(timespec="microseconds")


def alpr_data(row: Row, side: str) -> dict:
    """The raw result a visit started (ended) with; a visit logged before these were kept
    shows its prediction; none: ``{}``."""
    for text in (getattr(row, f"{side}_data"), getattr(row, f"{side}_prediction")):
        if text is not None:
            value = json.loads(text)
            if isinstance(value, dict):
                return value
    return {}


def list_extras(row: Row) -> dict:
    """What the live visit-list adds to the documented item: the tools read ``start_data``."""
    return {"start_data": alpr_data(row, "start"), "end_data": alpr_data(row, "end")}


def _camera(row: Row, prefix: str) -> dict | None:
    code = getattr(row, f"{prefix}_code")
    if code is None:
        return None
    kind = getattr(row, f"{prefix}_type")
    return {
        "code": code,
        "name": getattr(row, f"{prefix}_name"),
        "type": CAMERA_TYPE_NUMBERS.get(kind, kind),
        "latitude": getattr(row, f"{prefix}_latitude"),
        "longitude": getattr(row, f"{prefix}_longitude"),
        "notes": getattr(row, f"{prefix}_notes") or "",
    }


def _orientation(data: dict) -> int | None:
    """Plate mode: ``orientation[0].orientation``; vehicle mode: ``vehicle.props.orientation``."""
    vehicle = data.get("vehicle")
    props = vehicle.get("props") if isinstance(vehicle, dict) else None
    for entries, key in (
        (data.get("orientation"), "orientation"),
        (props.get("orientation") if isinstance(props, dict) else None, "value"),
    ):
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            label = entries[0].get(key)
            if isinstance(label, str):
                return ORIENTATION_NUMBERS.get(label.lower())
    return None


def _number(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def visit(row: Row, media_url, tz: tzinfo, status: str) -> dict:
    """One visit in the live reply's shape; ``status`` says what the request did to it."""
    start, end = alpr_data(row, "start"), alpr_data(row, "end")
    score = _number(read_score(start))
    closed = not row.open and row.end_us is not None
    return {
        "id": row.id,
        "vehicle": {
            "license_plate": row.license_plate,
            **{f"field{i}": getattr(row, f"vehicle_field{i}") for i in range(1, 7)},
        },
        "start_cam": _camera(row, "start_cam"),
        "end_cam": _camera(row, "end_cam"),
        "start_img": media_url(row.start_media_name) if row.start_media_name else None,
        "start_data": start,
        "end_data": end,
        "end_img": media_url(row.end_media_name) if row.end_media_name else None,
        "duration": duration_minutes(row.start_us, row.end_us) if closed else None,
        "status": status,
        "score": score,
        "start_date": iso_offset(row.start_us, tz),
        "start_img_plate": None,
        "start_orientation": _orientation(start),
        "start_direction": _number(start.get("direction")),
        "end_date": iso_offset(row.end_us, tz) if closed else None,
        "end_img_plate": None,
        "end_orientation": _orientation(end) if end else None,
        "end_direction": _number(end.get("direction")),
        "last_spotted": iso_offset(row.last_seen_us, tz),
        "org": row.account_id,
        "spot": None,
    }


def visit_listing(listing: VisitListing, media_url, tz: tzinfo, request_url: str) -> list | dict:
    """visit-list's answer: the documented bare array, or the live page envelope."""
    if listing.page is None:
        return [serializers.visit(row, media_url, tz) for row in listing.rows]
    return envelope(
        listing.page,
        request_url,
        lambda row: {**serializers.visit(row, media_url, tz), **list_extras(row)},
    )
