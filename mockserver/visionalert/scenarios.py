"""VisionAlert scenario controls (the rules behind /_mock/visionalert/...).

Cameras are addressed by license id and serial, as in the read API. Everything here is
emulator-only: thresholds, forced scores and failures, review resolution, a camera's full
state (scores included), notification settings, deliveries and the e-mail outbox.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, select, update

from ..core.emulator import Emulator
from ..core.errors import ApiError, FieldErrors, NotFound
from ..core.numbers import is_number, is_whole_number
from ..core.timefmt import iso_z
from . import judging, schema, scoring
from .alerts import alert_bodies
from .notify import base_url
from .references import reference_at

RESOLUTIONS = ("normal", "anomaly")
MAX_FORCED = 10_000


def _camera(conn: Connection, license_id: int, serial: str):
    cam = schema.va_cameras.c
    row = conn.execute(
        select(schema.va_cameras).where(cam.license_id == license_id, cam.serial == serial)
    ).first()
    if row is None:
        raise NotFound("No camera with that serial under this license.")
    return row


def _score_map(value: object, field: str, allow_null: bool) -> dict:
    if not isinstance(value, dict):
        raise FieldErrors({field: ["An object keyed by anomaly type."]})
    errors = {}
    for key, score in value.items():
        if key not in scoring.ANOMALY_TYPES:
            errors[f"{field}.{key}"] = [f"One of {list(scoring.ANOMALY_TYPES)}."]
        elif score is None and allow_null:
            continue
        elif not is_number(score) or not 0 <= score <= 1:
            errors[f"{field}.{key}"] = ["A number between 0 and 1."]
    if errors:
        raise FieldErrors(errors)
    return value


# -- thresholds -----------------------------------------------------------------------------


def thresholds(emulator: Emulator, license_id: int, serial: str) -> dict:

    def read(conn):
        camera = _camera(conn, license_id, serial)
        default = emulator.settings(conn)["default_threshold"]
        return _thresholds_body(camera, default)

    return emulator.store.query(read)


def _thresholds_body(camera, default: float) -> dict:
    return {
        "serial": camera.serial,
        "thresholds": judging.thresholds_of(camera.thresholds, default),
        "own": json.loads(camera.thresholds or "{}"),
    }


def set_thresholds(
    emulator: Emulator, license_id: int, serial: str, changes: dict, now_us: int
) -> dict:
    """Per-type thresholds; ``null`` goes back to the default."""
    _score_map(changes, "thresholds", allow_null=True)

    def work(conn):
        camera = _camera(conn, license_id, serial)
        own = json.loads(camera.thresholds or "{}")
        for key, value in changes.items():
            if value is None:
                own.pop(key, None)
            else:
                own[key] = float(value)
        conn.execute(
            update(schema.va_cameras)
            .where(schema.va_cameras.c.id == camera.id)
            .values(thresholds=json.dumps(own))
        )
        judging.rejudge_pending(emulator, conn, camera.id, now_us)
        camera = _camera(conn, license_id, serial)
        return _thresholds_body(camera, emulator.settings(conn)["default_threshold"])

    return emulator.store.transact(work)


# -- forced scores and failures ------------------------------------------------------------


def force(emulator: Emulator, license_id: int, serial: str, body: dict, now_us: int) -> dict:
    """Queue ``{"scores": {...}, "count": N}`` or ``{"fail": true, "count": N}``."""
    count = body.get("count", 1)
    if not is_whole_number(count) or not 1 <= count <= MAX_FORCED:
        raise FieldErrors({"count": [f"A whole number from 1 to {MAX_FORCED}."]})
    fail = body.get("fail", False)
    if not isinstance(fail, bool):
        raise FieldErrors({"fail": ["true or false."]})
    scores = body.get("scores")
    if fail and scores is not None:
        raise FieldErrors({"non_field_errors": ["Give 'scores' or 'fail', not both."]})
    if not fail:
        if scores is None:
            raise FieldErrors({"scores": ['This field is required (or give "fail": true).']})
        _score_map(scores, "scores", allow_null=False)

    def work(conn):
        camera = _camera(conn, license_id, serial)
        conn.execute(
            schema.va_forced_scores.insert().values(
                camera_id=camera.id,
                scores=None if fail else json.dumps(scores),
                fail=fail,
                remaining=count,
            )
        )
        judging.rejudge_pending(emulator, conn, camera.id, now_us)
        return _forced_body(conn, camera)

    return emulator.store.transact(work)


def forced(emulator: Emulator, license_id: int, serial: str) -> dict:
    return emulator.store.query(lambda conn: _forced_body(conn, _camera(conn, license_id, serial)))


def clear_forced(emulator: Emulator, license_id: int, serial: str, now_us: int) -> dict:
    """Empty the queue; logs not yet appeared lose the entries they had taken from it."""

    def work(conn):
        camera = _camera(conn, license_id, serial)
        conn.execute(
            schema.va_forced_scores.delete().where(schema.va_forced_scores.c.camera_id == camera.id)
        )
        judging.rejudge_pending(emulator, conn, camera.id, now_us, drop_forced=True)
        return _forced_body(conn, camera)

    return emulator.store.transact(work)


def _forced_body(conn: Connection, camera) -> dict:
    forced = schema.va_forced_scores.c
    rows = conn.execute(
        select(schema.va_forced_scores).where(forced.camera_id == camera.id).order_by(forced.id)
    ).all()
    return {
        "serial": camera.serial,
        "queue": [
            {
                "id": row.id,
                "scores": json.loads(row.scores) if row.scores else None,
                "fail": bool(row.fail),
                "remaining": row.remaining,
            }
            for row in rows
        ],
    }


# -- camera state and review --------------------------------------------------------------


def camera_state(
    emulator: Emulator, license_id: int, serial: str, now_us: int, limit: int = 50
) -> dict:
    """Everything about one camera the public API does not show (all scores included)."""

    def read(conn):
        camera = _camera(conn, license_id, serial)
        logs = schema.va_logs.c
        rows = conn.execute(
            select(schema.va_logs)
            .where(logs.camera_id == camera.id, logs.visible_us <= now_us)
            .order_by(logs.created_us.desc(), logs.id.desc())
            .limit(limit)
        ).all()
        reference = reference_at(conn, camera.id, now_us)
        return {
            "serial": camera.serial,
            "name": camera.name,
            "latest_status": rows[0].status if rows else None,
            "has_reference": reference is not None,
            "last_accepted": iso_z(camera.last_accepted_us),
            "thresholds": judging.thresholds_of(
                camera.thresholds, emulator.settings(conn)["default_threshold"]
            ),
            "logs": [_log_body(row) for row in rows],
        }

    return emulator.store.query(read)


def _log_body(row) -> dict:
    return {
        "id": row.id,
        "status": row.status,
        "anomalies": json.loads(row.anomalies),
        "scores": json.loads(row.scores),
        "has_snapshot": row.snapshot_id is not None,
        "created": iso_z(row.created_us),
    }


def resolve(emulator: Emulator, log_id: int, body: dict, now_us: int) -> dict:
    """An ``under_review`` log becomes ``normal`` or ``anomaly``; the camera follows when it
    is the camera's latest log, and turning anomaly feeds an alert as processing would."""
    status = body.get("status")
    if status not in RESOLUTIONS:
        raise FieldErrors({"status": [f"One of {list(RESOLUTIONS)}."]})

    def work(conn):
        log = conn.execute(select(schema.va_logs).where(schema.va_logs.c.id == log_id)).first()
        if log is None or log.visible_us > now_us:  # a log that has not appeared yet
            raise NotFound("No log with that id.")
        if log.status != "under_review":
            raise ApiError(
                {"detail": f"Only under_review logs can be resolved (this one is {log.status})."},
                409,
            )
        camera = conn.execute(
            select(schema.va_cameras).where(schema.va_cameras.c.id == log.camera_id)
        ).first()
        anomalies = {}
        if status == "anomaly":
            settings = emulator.settings(conn)
            limits = judging.thresholds_of(camera.thresholds, settings["default_threshold"])
            band = settings["review_band"]
            scores = json.loads(log.scores)
            anomalies = {k: v for k, v in scores.items() if v >= limits[k] - band}
        conn.execute(
            update(schema.va_logs)
            .where(schema.va_logs.c.id == log.id)
            .values(status=status, anomalies=json.dumps(anomalies))
        )
        logs = schema.va_logs.c
        latest = conn.execute(
            select(logs.id)
            .where(logs.camera_id == camera.id, logs.visible_us <= now_us)
            .order_by(logs.created_us.desc(), logs.id.desc())
            .limit(1)
        ).scalar()
        if latest == log.id:
            judging.feed_alert(  # the camera's status was this log's: under_review
                emulator, conn, camera, status, anomalies, log.snapshot_id, now_us, log.status
            )
        row = conn.execute(select(schema.va_logs).where(schema.va_logs.c.id == log.id)).first()
        return _log_body(row)

    return emulator.store.transact(work)


# -- notifications ----------------------------------------------------------------------------


def set_notifications(emulator: Emulator, license_id: int, body: dict, now_us: int) -> dict:
    """``webhook_url`` (http(s) or null) and ``notify_email`` (or null); absent keys stay."""
    changes = {}
    errors = {}
    if "webhook_url" in body:
        url = body["webhook_url"]
        if url is not None and (
            not isinstance(url, str)
            or not url.startswith(("http://", "https://"))
            or len(url) > 2000
        ):
            errors["webhook_url"] = ["An http(s) URL or null."]
        changes["webhook_url"] = url
    if "notify_email" in body:
        email = body["notify_email"]
        if email is not None and (
            not isinstance(email, str) or "@" not in email or len(email) > 320
        ):
            errors["notify_email"] = ["An e-mail address or null."]
        changes["notify_email"] = email
    unknown = [key for key in body if key not in ("webhook_url", "notify_email")]
    for key in unknown:
        errors[key] = ["Unknown field."]
    if errors:
        raise FieldErrors(errors)

    def work(conn):
        lic = schema.va_licenses.c
        if conn.execute(select(lic.id).where(lic.id == license_id)).first() is None:
            raise NotFound("No license with that id.")
        if changes:
            conn.execute(
                update(schema.va_licenses)
                .where(lic.id == license_id)
                .values(**changes, modified_us=now_us)
            )
        return _notifications_body(conn, license_id)

    return emulator.store.transact(work)


def notifications(emulator: Emulator, license_id: int) -> dict:
    def read(conn):
        return _notifications_body(conn, license_id)

    return emulator.store.query(read)


def _notifications_body(conn: Connection, license_id: int) -> dict:
    lic = schema.va_licenses.c
    row = conn.execute(
        select(lic.id, lic.code, lic.webhook_url, lic.notify_email).where(lic.id == license_id)
    ).first()
    if row is None:
        raise NotFound("No license with that id.")
    return {
        "license_id": row.id,
        "license": row.code,
        "webhook_url": row.webhook_url,
        "notify_email": row.notify_email,
    }


def deliveries(emulator: Emulator, alert_id: int | None = None, limit: int = 500) -> dict:
    table = schema.va_deliveries.c

    def read(conn):
        query = select(schema.va_deliveries).order_by(table.id.desc()).limit(limit)
        if alert_id is not None:
            query = query.where(table.alert_id == alert_id)
        return [
            {
                "id": row.id,
                "alert_id": row.alert_id,
                "channel": row.channel,
                "target": row.target,
                "attempt": row.attempt,
                "ok": bool(row.ok),
                "status_code": row.status_code,
                "error": row.error,
                "at": iso_z(row.at_us),
            }
            for row in conn.execute(query)
        ]

    return {"deliveries": emulator.store.query(read)}


def outbox(emulator: Emulator, limit: int = 500) -> dict:
    table = schema.va_outbox.c

    def read(conn):
        query = select(schema.va_outbox).order_by(table.id.desc()).limit(limit)
        return [
            {
                "id": row.id,
                "alert_id": row.alert_id,
                "to": row.to,
                "subject": row.subject,
                "body": json.loads(row.body),
                "at": iso_z(row.at_us),
            }
            for row in conn.execute(query)
        ]

    return {"messages": emulator.store.query(read)}


def alerts(emulator: Emulator, license_id: int | None = None, limit: int = 500) -> dict:
    """Every alert, pending ones included (``emitted`` false until its window closes)."""

    table = schema.va_alerts.c

    def read(conn):
        chosen = select(table.id).order_by(table.id.desc()).limit(limit)
        if license_id is not None:
            chosen = chosen.where(table.license_id == license_id)
        return [
            {**body, "emitted": bool(alert.emitted), "opened": iso_z(alert.opened_us)}
            for alert, body in alert_bodies(conn, chosen, base_url(emulator, conn))
        ]

    return {"alerts": emulator.store.query(read)}
