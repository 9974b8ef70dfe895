"""Alerts: cameras of one license that turn anomaly or offline within one window share one.

The first camera to turn *opens* an alert (``opened_us``); every camera of the license
that turns before ``opened + alert_window`` joins it (a camera that turns again updates
its entry). At ``opened + alert_window`` a due job *emits* it: ``emitted`` becomes 1, the
alert becomes visible in the read API with ``created`` = the emission time, and the
notifications go out. Each entry keeps the snapshot and the camera's reference image as
they were when the camera joined (the reference *at alert time*). Emission itself is
``notify.emit`` (emitting an alert is what notifies).
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, Row, select, update

from ..core import duework
from ..core.clock import seconds_to_us
from ..core.emulator import Emulator
from . import schema, serializers
from .references import reference_at

EMIT = "va.alert.emit"
LABELS = {"anomaly": "Anomaly", "offline": "Offline", "normal": "Normal"}


def camera_turned(
    emulator: Emulator,
    conn: Connection,
    camera,
    status: str,
    anomalies: dict,
    snapshot_id: int | None,
    at_us: int,
) -> int:
    """Add the camera to its license's open alert (opening one if none); returns its id."""
    alerts = schema.va_alerts.c
    alert = conn.execute(
        select(schema.va_alerts)
        .where(
            alerts.license_id == camera.license_id,
            alerts.emitted == False,  # noqa: E712
            alerts.created_us > at_us,
        )
        .order_by(alerts.id.desc())
        .limit(1)
    ).first()
    if alert is None:
        window = seconds_to_us(emulator.settings(conn)["alert_window"])
        alert_id = conn.execute(
            schema.va_alerts.insert().values(
                license_id=camera.license_id,
                sent=False,
                emitted=False,
                opened_us=at_us,
                created_us=at_us + window,
            )
        ).inserted_primary_key[0]
        emulator.tally.note(conn, "alerts", ("visionalert",))
        duework.schedule(
            conn, EMIT, at_us + window, {"alert_id": alert_id}, key=f"{EMIT}:{alert_id}"
        )
    else:
        alert_id = alert.id
    entry = {
        "serial": camera.serial,
        "name": camera.name,
        "status": LABELS.get(status, status.replace("_", " ").capitalize()),
        "anomalies": json.dumps(anomalies),
        "snapshot_id": snapshot_id,
        "reference_media_id": _reference_media(conn, camera.id, at_us),
    }
    entries = schema.va_alert_cameras.c
    existing = conn.execute(
        select(entries.id).where(entries.alert_id == alert_id, entries.serial == camera.serial)
    ).first()
    if existing is None:
        conn.execute(schema.va_alert_cameras.insert().values(alert_id=alert_id, **entry))
    else:
        conn.execute(
            update(schema.va_alert_cameras).where(entries.id == existing.id).values(**entry)
        )
    return alert_id


def _reference_media(conn: Connection, camera_id: int, at_us: int) -> int | None:
    reference = reference_at(conn, camera_id, at_us)
    return reference.media_id if reference else None


def alert_body(conn: Connection, alert_id: int, base_url: str) -> dict | None:
    """The alert in the seed's shape, with absolute media URLs."""
    found = alert_bodies(conn, [alert_id], base_url)
    return found[0][1] if found else None


def alert_bodies(conn: Connection, chosen, base_url: str) -> list[tuple[Row, dict]]:
    """The chosen alerts (ids, or a select of ids), newest first, each with its body.

    One statement, so the list is one consistent read: an alert deleted meanwhile is
    absent, never half there (and a hundred alerts cost one query, not a hundred)."""
    alerts, licenses, entries = schema.va_alerts, schema.va_licenses.c, schema.va_alert_cameras
    snapshot = schema.media.alias("snapshot")
    reference = schema.media.alias("reference")
    rows = conn.execute(
        select(
            alerts,
            licenses.code,
            entries.c.id.label("entry_id"),
            entries.c.serial,
            entries.c.name,
            entries.c.status,
            entries.c.anomalies,
            snapshot.c.name.label("snapshot_name"),
            snapshot.c.kind.label("snapshot_kind"),
            reference.c.name.label("reference_name"),
            reference.c.kind.label("reference_kind"),
        )
        .join(schema.va_licenses, licenses.id == alerts.c.license_id)
        .outerjoin(entries, entries.c.alert_id == alerts.c.id)
        .outerjoin(snapshot, snapshot.c.id == entries.c.snapshot_id)
        .outerjoin(reference, reference.c.id == entries.c.reference_media_id)
        .where(alerts.c.id.in_(chosen))
        .order_by(alerts.c.id.desc(), entries.c.id)
    ).all()
    found: dict[int, tuple[Row, list[dict]]] = {}
    for row in rows:
        _, cameras = found.setdefault(row.id, (row, []))
        if row.entry_id is not None:
            cameras.append(serializers.alert_camera_json(row, base_url))
    return [
        (alert, serializers.alert_json(alert, alert.code, cameras))
        for alert, cameras in found.values()
    ]
