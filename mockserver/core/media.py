"""Media files: content-addressed on disk, served under random, unguessable names.

The bytes live once per content (``media/<sha[:2]>/<sha>``); every stored image gets its
own row with a 128-bit random name, so a URL reveals nothing and carries no user input.
A file is removed when the last row that names its content is deleted.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile

from sqlalchemy import Connection, delete, func, select

from . import schema

CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
}
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "image/webp": "webp",
    "image/tiff": "tif",
}


#: what ``add`` hands out: 128 random bits in hex and an extension
MEDIA_NAME = re.compile(r"[0-9a-f]{32}\.[a-z]{3,4}")


class MediaStore:
    def __init__(self, root: str) -> None:
        self.root = root

    def path(self, sha256: str) -> str:
        return os.path.join(self.root, sha256[:2], sha256)

    def read(self, sha256: str) -> bytes | None:
        """The stored bytes of one content, or None when they are gone."""
        try:
            with open(self.path(sha256), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def wipe(self) -> None:
        """Every stored file goes (the rows are deleted with the rest of the store)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def write_file(self, content: bytes) -> str:
        """Put the bytes on disk atomically and return their hash.

        Written before the row that names them commits, so an acknowledged upload's file
        always exists. Like the store (WAL, ``synchronous=NORMAL``) this survives a killed
        process, not a power cut: no fsync per upload.
        """
        sha = hashlib.sha256(content).hexdigest()
        target = self.path(sha)
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target))
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(tmp, target)
        return sha

    def add(
        self, conn: Connection, sha256: str, size: int, content_type: str, kind: str, now_us: int
    ) -> int:
        """Record one stored image (the file must already be written)."""
        name = f"{secrets.token_hex(16)}.{EXTENSIONS.get(content_type, 'bin')}"
        result = conn.execute(
            schema.media.insert(),
            {
                "name": name,
                "sha256": sha256,
                "content_type": content_type,
                "size": size,
                "kind": kind,
                "created_us": now_us,
            },
        )
        return result.inserted_primary_key[0]

    def lookup(self, conn: Connection, name: str):
        """The row of a URL name; None for a name this store could never have handed out
        (so no arbitrary text, e.g. a NUL byte PostgreSQL refuses, reaches the query)."""
        if not MEDIA_NAME.fullmatch(name):
            return None
        return conn.execute(select(schema.media).where(schema.media.c.name == name)).first()

    def delete_rows(self, conn: Connection, media_ids: list[int]) -> list[str]:
        """Delete media rows no longer referenced; return hashes whose files became orphans."""
        if not media_ids:
            return []
        rows = conn.execute(
            select(schema.media.c.id, schema.media.c.sha256).where(schema.media.c.id.in_(media_ids))
        ).all()
        conn.execute(delete(schema.media).where(schema.media.c.id.in_([r.id for r in rows])))
        orphans = []
        for sha in {r.sha256 for r in rows}:
            left = conn.execute(
                select(func.count()).select_from(schema.media).where(schema.media.c.sha256 == sha)
            ).scalar_one()
            if left == 0:
                orphans.append(sha)
        return orphans

    def still_named(self, conn: Connection, media_ids: set[int]) -> set[int]:
        """Which of these media rows another row still names: every column of any vendor's
        table with a foreign key to ``media.id`` (alerts keep their images, for one)."""
        if not media_ids:
            return set()
        ids = list(media_ids)
        named: set[int] = set()
        for column in _naming_columns(schema.metadata):
            named.update(conn.execute(select(column).where(column.in_(ids)).distinct()).scalars())
        return named

    def remove_files(self, hashes: list[str]) -> None:
        """Call after the deleting transaction committed."""
        for sha in hashes:
            try:
                os.remove(self.path(sha))
            except FileNotFoundError:
                pass

    @staticmethod
    def url(base: str, kind: str | None, name: str | None) -> str | None:
        """Absolute URL of a stored image (served by ``media_routes``), or None."""
        if name is None or kind is None:
            return None
        return f"{base}/media/{kind}/{name}"

    def sweep_orphans(self, conn: Connection) -> list[str]:
        """Remove files no media row names (bytes written for an upload that was refused
        in a race or never committed because the process died). Only safe while no other
        process writes: the server runs it once at start-up, before its workers."""
        named = set(conn.execute(select(schema.media.c.sha256).distinct()).scalars())
        removed = []
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                if name in named:
                    continue
                os.remove(os.path.join(folder, name))
                removed.append(name)
        return removed


def _naming_columns(metadata) -> list:
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if any(key.column is schema.media.c.id for key in column.foreign_keys)
    ]
