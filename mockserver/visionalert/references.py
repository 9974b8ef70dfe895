"""Camera reference images: the current one, and the history kept for alerts."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from . import schema


def set_reference(conn: Connection, camera_id: int, media_id: int, now_us: int) -> int:
    """Make ``media_id`` the camera's current reference; earlier ones stay in the history."""
    reference_id = conn.execute(
        schema.va_references.insert().values(
            camera_id=camera_id, media_id=media_id, created_us=now_us
        )
    ).inserted_primary_key[0]
    conn.execute(
        update(schema.va_cameras)
        .where(schema.va_cameras.c.id == camera_id)
        .values(reference_id=reference_id, modified_us=now_us)
    )
    return reference_id


def current_reference_media(conn: Connection, camera_id: int):
    """The media row of the camera's current reference, or None."""
    ref = schema.va_references
    cam = schema.va_cameras
    return conn.execute(
        select(schema.media)
        .join(ref, ref.c.media_id == schema.media.c.id)
        .join(cam, cam.c.reference_id == ref.c.id)
        .where(cam.c.id == camera_id)
    ).first()
