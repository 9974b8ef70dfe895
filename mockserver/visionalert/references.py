"""Camera reference images: the current one, and the history kept for alerts.

A camera's reference at an instant is its newest reference row created at or before it.
A reference adopted from an upload is written with that upload's log (at acceptance) and
created when the log appears, so it takes effect exactly then, as the log does.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, select, update

from . import schema

REFS = schema.va_references


def set_reference(
    conn: Connection, camera_id: int, media_id: int, at_us: int, posted: bool = True
) -> int:
    """Make ``media_id`` the camera's reference from ``at_us`` on; earlier ones stay in the
    history. A ``posted`` one (a client's edit) also marks the camera modified and is named
    by ``va_cameras.reference_id``; one adopted from an upload changes only the history."""
    reference_id = conn.execute(
        REFS.insert(), {"camera_id": camera_id, "media_id": media_id, "created_us": at_us}
    ).inserted_primary_key[0]
    if posted:
        conn.execute(
            update(schema.va_cameras)
            .where(schema.va_cameras.c.id == camera_id)
            .values(reference_id=reference_id, modified_us=at_us)
        )
    return reference_id


_AT = (
    select(REFS.c.id, REFS.c.media_id, schema.media.c.sha256)
    .join(schema.media, schema.media.c.id == REFS.c.media_id)
    .where(REFS.c.camera_id == bindparam("camera"), REFS.c.created_us <= bindparam("at"))
    .order_by(REFS.c.created_us.desc(), REFS.c.id.desc())
    .limit(1)
)


def reference_at(conn: Connection, camera_id: int, at_us: int):
    """(id, media_id, sha256) of the camera's reference at ``at_us``, or None."""
    return conn.execute(_AT, {"camera": camera_id, "at": at_us}).first()


def current_reference_media(conn: Connection, camera_id: int, now_us: int):
    """The media row of the camera's reference at ``now_us``, or None."""
    found = reference_at(conn, camera_id, now_us)
    if found is None:
        return None
    return conn.execute(select(schema.media).where(schema.media.c.id == found.media_id)).first()


def drop_pending_adoptions(conn: Connection, camera_id: int, now_us: int) -> list[int]:
    """Forget references adopted from logs that have not appeared yet (they are judged
    again); returns their media ids, for the caller to delete."""
    rows = conn.execute(
        select(REFS.c.id, REFS.c.media_id).where(
            REFS.c.camera_id == camera_id, REFS.c.created_us > now_us
        )
    ).all()
    if rows:
        conn.execute(delete(REFS).where(REFS.c.id.in_([row.id for row in rows])))
    return [row.media_id for row in rows]
