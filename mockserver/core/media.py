"""Media files: content-addressed on disk, served under random, unguessable names.

The bytes live once per content (``media/<sha[:2]>/<sha>``); every stored image gets its
own row with a 128-bit random name, so a URL reveals nothing and carries no user input.

Content and the rows naming it are kept in step by one rule, whichever process or host
writes (``Media``): an upload makes sure its content exists *inside* the write transaction
that adds its row, and content is removed only by a step that finds, at a moment no write
of a new row can slip between, that no row names it. So when an upload of the same bytes
races the delete of the last row naming them, either the upload sees the content gone and
writes it again, or the removal sees the upload's row and keeps it; an acknowledged
upload's image always resolves.
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


class Media:
    """The rows of stored images, whatever keeps their bytes (``MediaStore``: files;
    ``media_db.DatabaseMedia``: rows of a shared database)."""

    def read(self, sha256: str) -> bytes | None:
        raise NotImplementedError

    def write_file(self, content: bytes) -> str:
        """Store the bytes ahead of the transaction that names them; return their hash."""
        raise NotImplementedError

    def ensure(self, conn: Connection, sha256: str, content: bytes | None) -> None:
        """Inside the write transaction that names ``sha256``: its content exists (written
        again from ``content`` when a removal took it since ``write_file``)."""
        raise NotImplementedError

    def remove_files(self, hashes: list[str]) -> None:
        """After a deleting transaction committed: drop the content no row names now."""
        raise NotImplementedError

    def sweep_orphans(self, conn: Connection) -> list[str]:
        raise NotImplementedError

    def wipe(self) -> None:
        raise NotImplementedError

    def add(
        self,
        conn: Connection,
        sha256: str,
        size: int,
        content_type: str,
        kind: str,
        now_us: int,
        content: bytes | None = None,
    ) -> int:
        """Record one stored image (``write_file`` first). ``content``: the bytes, from
        which the content is written again if a concurrent removal took it; ``None`` only
        for content another row of this transaction names (a second row for a snapshot)."""
        self.ensure(conn, sha256, content)
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
        """Delete media rows no longer referenced; return hashes whose content became
        unnamed (hand them to ``remove_files`` after the commit)."""
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

    @staticmethod
    def url(base: str, kind: str | None, name: str | None) -> str | None:
        """Absolute URL of a stored image (served by ``media_routes``), or None."""
        if name is None or kind is None:
            return None
        return f"{base}/media/{kind}/{name}"


class MediaStore(Media):
    """Bytes as files under one directory (SQLite: one machine).

    The rule's two sides meet under the store's writer turn, which every write transaction
    of every process on the machine takes: ``ensure`` checks (and if need be writes) the
    file inside the upload's transaction, and ``remove_files`` checks the rows and removes
    the file while holding the turn, so no transaction commits between its check and the
    removal.
    """

    def __init__(self, store, root: str) -> None:
        self.store = store
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

    def bytes_used(self) -> int:
        """The stored files' bytes (a walk of the folder: callers keep the figure a while)."""
        return sum(
            os.path.getsize(os.path.join(folder, name))
            for folder, _dirs, files in os.walk(self.root)
            for name in files
        )

    def write_file(self, content: bytes) -> str:
        """Put the bytes on disk atomically and return their hash.

        Written before the transaction that names them (no disk write under the writer
        turn); ``ensure`` checks again inside it. Like the store (WAL,
        ``synchronous=NORMAL``) this survives a killed process, not a power cut: no fsync
        per upload.
        """
        sha = hashlib.sha256(content).hexdigest()
        if not os.path.exists(self.path(sha)):
            self._write(sha, content)
        return sha

    def _write(self, sha: str, content: bytes) -> None:
        target = self.path(sha)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target))
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, target)

    def ensure(self, conn: Connection, sha256: str, content: bytes | None) -> None:
        if content is not None and not os.path.exists(self.path(sha256)):
            self._write(sha256, content)

    def remove_files(self, hashes: list[str]) -> None:
        if not hashes:
            return
        named = select(schema.media.c.sha256).where(schema.media.c.sha256.in_(hashes))
        with self.store.writer_lock():  # no upload commits between the check and removal
            kept = set(self.store.query(lambda conn: conn.execute(named.distinct()).scalars()))
            for sha in hashes:
                if sha in kept:
                    continue
                try:
                    os.remove(self.path(sha))
                except FileNotFoundError:
                    pass

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
