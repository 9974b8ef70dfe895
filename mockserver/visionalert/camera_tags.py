"""A camera's tags keep the order they were assigned in (the vendor lists them so).

The order is an explicit ``ordinal`` per camera: SQLite's ``rowid`` gave it for free, but
PostgreSQL has no stable row order.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from . import schema

LINK = schema.va_camera_tags


def link(conn: Connection, camera_id: int, tag_id: int) -> None:
    """Assign a tag to a camera, after the tags it already has."""
    next_ordinal = (
        select(func.coalesce(func.max(LINK.c.ordinal), 0) + 1)
        .where(LINK.c.camera_id == camera_id)
        .scalar_subquery()
    )
    conn.execute(LINK.insert().values(camera_id=camera_id, tag_id=tag_id, ordinal=next_ordinal))
