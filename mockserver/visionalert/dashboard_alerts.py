"""What the dashboard reads of alerts and their notifications: per license, newest first,
each alert with its cameras (label, images), webhook attempts and outbox e-mails — one
statement per kind for a whole page of alerts."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.orm import aliased

from ..core import schema
from ..core.keyset import KeysetPage, Position, newest_first
from . import schema as va_schema

ALERTS_PER_PAGE = 20


@dataclass
class AlertView:
    id: int
    emitted: bool
    sent: bool
    opened_us: int
    created_us: int
    cameras: list
    deliveries: list
    emails: list


def alert_page(
    conn: Connection, license_id: int, after: Position | None
) -> tuple[KeysetPage, list[AlertView]]:
    alerts = va_schema.va_alerts.c
    query = select(va_schema.va_alerts).where(alerts.license_id == license_id)
    page = newest_first(conn, query, alerts.created_us, alerts.id, after, ALERTS_PER_PAGE)
    ids = [row.id for row in page.rows]
    cameras, deliveries, emails = _cameras(conn, ids), _deliveries(conn, ids), _emails(conn, ids)
    views = [
        AlertView(
            row.id,
            bool(row.emitted),
            bool(row.sent),
            row.opened_us,
            row.created_us,
            cameras.get(row.id, []),
            deliveries.get(row.id, []),
            emails.get(row.id, []),
        )  # fmt: skip
        for row in page.rows
    ]
    return page, views


def _grouped(rows) -> dict[int, list]:
    found: dict[int, list] = {}
    for row in rows:
        found.setdefault(row.alert_id, []).append(row)
    return found


def _cameras(conn: Connection, alert_ids: list[int]) -> dict[int, list]:
    if not alert_ids:
        return {}
    entry = va_schema.va_alert_cameras.c
    snapshot, reference = aliased(schema.media), aliased(schema.media)
    rows = conn.execute(
        select(
            entry.alert_id,
            entry.serial,
            entry.name,
            entry.status,
            entry.anomalies,
            snapshot.c.name.label("snapshot"),
            reference.c.name.label("reference"),
        )  # fmt: skip
        .select_from(va_schema.va_alert_cameras)
        .outerjoin(snapshot, snapshot.c.id == entry.snapshot_id)
        .outerjoin(reference, reference.c.id == entry.reference_media_id)
        .where(entry.alert_id.in_(alert_ids))
        .order_by(entry.alert_id, entry.id)
    ).all()
    return {
        alert_id: [
            {**row._asdict(), "anomalies": json.loads(row.anomalies or "{}")} for row in found
        ]
        for alert_id, found in _grouped(rows).items()
    }


def _deliveries(conn: Connection, alert_ids: list[int]) -> dict[int, list]:
    if not alert_ids:
        return {}
    d = va_schema.va_deliveries.c
    rows = conn.execute(
        select(va_schema.va_deliveries).where(d.alert_id.in_(alert_ids)).order_by(d.alert_id, d.id)
    ).all()
    return _grouped(rows)


def _emails(conn: Connection, alert_ids: list[int]) -> dict[int, list]:
    if not alert_ids:
        return {}
    o = va_schema.va_outbox.c
    rows = conn.execute(
        select(va_schema.va_outbox).where(o.alert_id.in_(alert_ids)).order_by(o.alert_id, o.id)
    ).all()
    return _grouped(rows)
