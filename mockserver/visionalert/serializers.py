"""The read API's JSON shapes, field by field and in the seed's order."""

from __future__ import annotations

import json
from typing import Any

from ..core.media import MediaStore
from ..core.timefmt import iso_z


def anomalies(text: str | None) -> dict:
    """Stored JSON of above-threshold scores; anything unreadable shows as ``{}``."""
    if not text or text == "{}":
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def license_json(row: Any) -> dict:
    return {
        "id": row.id,
        "code": row.code,
        "size": row.size,
        "va_type": row.va_type,
        "expiration": iso_z(row.expiration_us),
        "created": iso_z(row.created_us),
        "modified": iso_z(row.modified_us),
    }


def camera_json(row: Any, license_code: str, tags: list[str]) -> dict:
    return {
        "id": row.id,
        "serial": row.serial,
        "name": row.name,
        "license": license_code,
        "tags": tags,
        "notes": row.notes or "",
        "latest_status": row.latest_status,
        "created": iso_z(row.created_us),
        "modified": iso_z(row.modified_us),
    }


def log_json(row: Any, base: str) -> dict:
    return {
        "id": row.id,
        "camera_serial": row.camera_serial,
        "camera_name": row.camera_name,
        "status": row.status,
        "anomalies": anomalies(row.anomalies),
        "snapshot": MediaStore.url(base, row.snapshot_kind, row.snapshot_name),
        "created": iso_z(row.created_us),
    }


def alert_camera_json(row: Any, base: str) -> dict:
    return {
        "serial": row.serial,
        "name": row.name,
        "status": row.status,
        "anomalies": anomalies(row.anomalies),
        "snapshot": MediaStore.url(base, row.snapshot_kind, row.snapshot_name),
        "reference_image": MediaStore.url(base, row.reference_kind, row.reference_name),
    }


def alert_json(row: Any, license_code: str, cameras: list[dict]) -> dict:
    return {
        "id": row.id,
        "license": license_code,
        "sent": bool(row.sent),
        "cameras": cameras,
        "created": iso_z(row.created_us),
    }
