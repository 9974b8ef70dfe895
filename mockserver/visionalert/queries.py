"""A camera's derived state as SQL: its status and reference at an instant.

Shared by the read API, the due work and the dashboard, so each derives a camera's
``latest_status`` (the status of its newest visible log) and its reference the same way.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from . import schema

LOGS = schema.va_logs
CAMERAS = schema.va_cameras


def camera(conn: Connection, camera_id: int):
    return conn.execute(select(CAMERAS).where(CAMERAS.c.id == camera_id)).first()


def status_before(conn: Connection, camera_id: int, at_us: int, log=None) -> str | None:
    """The camera's ``latest_status`` at ``at_us``, not counting ``log`` and what came after
    it: the status its newest visible log had."""
    query = select(LOGS.c.status).where(LOGS.c.camera_id == camera_id, LOGS.c.visible_us <= at_us)
    if log is not None:
        query = query.where(
            (LOGS.c.created_us < log.created_us)
            | ((LOGS.c.created_us == log.created_us) & (LOGS.c.id < log.id))
        )
    return conn.execute(
        query.order_by(LOGS.c.created_us.desc(), LOGS.c.id.desc()).limit(1)
    ).scalar()


def latest_status_column(now_us: int):
    """``latest_status`` of ``va_cameras`` rows at ``now_us``, as a correlated subquery."""
    return (
        select(LOGS.c.status)
        .where(LOGS.c.camera_id == CAMERAS.c.id, LOGS.c.visible_us <= now_us)
        .order_by(LOGS.c.created_us.desc(), LOGS.c.id.desc())
        .limit(1)
        .correlate(CAMERAS)
        .scalar_subquery()
    )


def reference_id_column(now_us: int):
    """The id of a ``va_cameras`` row's reference at ``now_us``, as a correlated subquery."""
    refs = schema.va_references.c
    return (
        select(refs.id)
        .where(refs.camera_id == CAMERAS.c.id, refs.created_us <= now_us)
        .order_by(refs.created_us.desc(), refs.id.desc())
        .limit(1)
        .correlate(CAMERAS)
        .scalar_subquery()
    )
