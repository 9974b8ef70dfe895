"""Media bytes in the database: what every host of a shared (PostgreSQL) world reaches.

The same content-addressed scheme as the files of ``media.py`` (one ``media_content`` row per
content, rows of ``media`` name it), so no shared filesystem is needed between hosts. The
bytes are written in their own short transaction before the row that names them commits,
exactly as a file is, so an acknowledged upload's image is always there.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, delete, exists, select

from . import schema
from .clock import wall_seconds
from .dialect import insert_or_ignore
from .media import MediaStore

#: content nobody names is swept only once it is this old (an upload may be mid-flight)
ORPHAN_AGE_SECONDS = 3600.0

_PUT = insert_or_ignore(schema.media_content)["postgresql"]


class DatabaseMedia(MediaStore):
    """``MediaStore`` whose bytes live in the ``media_content`` table."""

    def __init__(self, store) -> None:
        super().__init__(root="")
        self.store = store

    def path(self, sha256: str) -> str:  # pragma: no cover - a programming error
        raise RuntimeError("media live in the database: use read()")

    def read(self, sha256: str) -> bytes | None:
        content = schema.media_content.c
        return self.store.query(
            lambda conn: conn.execute(
                select(content.content).where(content.sha256 == sha256)
            ).scalar_one_or_none()
        )

    def write_file(self, content: bytes) -> str:
        sha = hashlib.sha256(content).hexdigest()
        row = {"sha256": sha, "content": content, "stored_at": wall_seconds()}
        self.store.query(lambda conn: conn.execute(_PUT.values(**row)))  # autocommit
        return sha

    def remove_files(self, hashes: list[str]) -> None:
        """Drop content no row names any more (call after the deleting transaction)."""
        if not hashes:
            return
        content, media = schema.media_content.c, schema.media.c
        named = exists().where(media.sha256 == content.sha256)
        self.store.query(
            lambda conn: conn.execute(
                delete(schema.media_content).where(content.sha256.in_(hashes), ~named)
            )
        )

    def sweep_orphans(self, conn: Connection) -> list[str]:
        """Content no row names, written over an hour ago (hosts keep running while one
        restarts, so a younger one may belong to an upload in flight)."""
        content, media = schema.media_content.c, schema.media.c
        named = exists().where(media.sha256 == content.sha256)
        old = content.stored_at < wall_seconds() - ORPHAN_AGE_SECONDS
        return list(
            conn.execute(
                delete(schema.media_content).where(~named, old).returning(content.sha256)
            ).scalars()
        )

    def wipe(self) -> None:
        """Nothing to do: the content rows go with the rest of the store."""
