"""Media bytes in the database: what every host of a shared (PostgreSQL) world reaches.

The same content-addressed scheme as the files of ``media.py`` (one ``media_content`` row per
content, rows of ``media`` name it), so no shared filesystem is needed between hosts. The
bytes are written in their own short transaction before the row that names them commits
(no large value inside the serializable transaction), and the rule of ``media.py`` holds
through ``SERIALIZABLE`` isolation: the upload's transaction reads its content row (and
inserts it again if it is gone), the deleting transaction reads that no ``media`` row names
the content and deletes it; two such transactions that overlap are a write skew PostgreSQL
refuses, so one of them is retried and then sees the other's commit.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, bindparam, delete, exists, select, update

from . import schema
from .clock import wall_seconds
from .dialect import insert_or_ignore
from .media import Media

#: content nobody names is swept only once it is this old (an upload may be mid-flight)
ORPHAN_AGE_SECONDS = 3600.0

_PUT = insert_or_ignore(schema.media_content)["postgresql"]
_CONTENT = schema.media_content.c
_TOUCH = (
    update(schema.media_content)
    .where(_CONTENT.sha256 == bindparam("sha"))
    .values(stored_at=bindparam("at"))
    .returning(_CONTENT.sha256)
)
_UNNAMED = ~exists().where(schema.media.c.sha256 == _CONTENT.sha256)


class DatabaseMedia(Media):
    """Stored images whose bytes live in the ``media_content`` table."""

    def __init__(self, store) -> None:
        self.store = store

    def bytes_used(self) -> int:
        """The content table's bytes (TOAST included), from the catalog: no scan."""
        return self.store.bytes_used_of("media_content")

    def read(self, sha256: str) -> bytes | None:
        return self.store.query(
            lambda conn: conn.execute(
                select(_CONTENT.content).where(_CONTENT.sha256 == sha256)
            ).scalar_one_or_none()
        )

    def write_file(self, content: bytes) -> str:
        sha = hashlib.sha256(content).hexdigest()
        self.store.query(lambda conn: conn.execute(_PUT.values(**_row(sha, content))))  # autocommit
        return sha

    def ensure(self, conn: Connection, sha256: str, content: bytes | None) -> None:
        """The content row is written (its ``stored_at`` touched), not just read: a
        removal that overlaps then fails on it and runs again (seeing this row's name),
        whatever the upload's isolation; or it removed the content first, and it is put
        back here."""
        there = conn.execute(_TOUCH, {"sha": sha256, "at": wall_seconds()}).first()
        if there is None and content is not None:
            conn.execute(_PUT.values(**_row(sha256, content)))

    def delete_rows(self, conn: Connection, media_ids: list[int]) -> list[str]:
        """The rows, and in the same transaction the content no row names any more."""
        orphans = super().delete_rows(conn, media_ids)
        if orphans:
            conn.execute(delete(schema.media_content).where(_CONTENT.sha256.in_(orphans), _UNNAMED))
        return orphans

    def remove_files(self, hashes: list[str]) -> None:
        """Drop content no row names (a serializable write, see the module docstring)."""
        if not hashes:
            return
        self.store.transact(
            lambda conn: conn.execute(
                delete(schema.media_content).where(_CONTENT.sha256.in_(hashes), _UNNAMED)
            )
        )

    def sweep_orphans(self, conn: Connection) -> list[str]:
        """Content no row names, written over an hour ago (hosts keep running while one
        restarts, so a younger one may belong to an upload in flight)."""
        old = _CONTENT.stored_at < wall_seconds() - ORPHAN_AGE_SECONDS
        return list(
            conn.execute(
                delete(schema.media_content).where(_UNNAMED, old).returning(_CONTENT.sha256)
            ).scalars()
        )

    def wipe(self) -> None:
        """Nothing to do: the content rows go with the rest of the store."""


def _row(sha: str, content: bytes) -> dict:
    return {"sha256": sha, "content": content, "stored_at": wall_seconds()}
