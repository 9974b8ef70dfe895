"""Stored images: content-addressed bytes, served under random, unguessable names.

The bytes live once per content (files ``media/<sha[:2]>/<sha>`` by default, or an object
store, see ``backends.open_media``); every stored image gets its own row with a 128-bit
random name, so a URL reveals nothing and carries no user input.

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
import time
from collections.abc import Iterator

from sqlalchemy import Connection, delete, func, select, update

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


#: a content's name: its hash
SHA256 = re.compile(r"[0-9a-f]{64}")
#: a half-written temporary file this old belongs to no write in flight
PARTIAL_AGE_SECONDS = 3600.0

#: what ``add`` hands out: 128 random bits in hex and an extension
MEDIA_NAME = re.compile(r"[0-9a-f]{32}\.[a-z]{3,4}")


class Media:
    """The rows of stored images, whatever keeps their bytes and however the rule above is
    kept (``MediaStore``: one machine's writer turn; ``media_shared.SharedMedia``: locks
    of a shared database; ``media_db.DatabaseMedia``: bytes as rows of that database)."""

    def read(self, sha256: str) -> bytes | None:
        raise NotImplementedError

    def write_file(self, content: bytes) -> str:
        """Store the bytes ahead of the transaction that names them; return their hash."""
        raise NotImplementedError

    def ensure(self, conn: Connection, sha256: str, content: bytes | None) -> None:
        """Inside the write transaction that names ``sha256``: its content exists (written
        again from ``content`` when a removal took it since ``write_file``)."""
        raise NotImplementedError

    def ensure_many(self, conn: Connection, contents: dict[str, bytes]) -> None:
        """``ensure`` for each content (hash: bytes) a transaction is about to name; its
        rows are then added or switched with ``content=None``."""
        for sha, content in contents.items():
            self.ensure(conn, sha, content)

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

    def replace(
        self,
        conn: Connection,
        media_id: int,
        old_sha: str,
        new_sha: str,
        size: int,
        content_type: str,
        content: bytes,
    ) -> list[str]:
        """The row keeps its name (its URL) but shows other content (``write_file`` first):
        adding a name for ``new_sha`` and dropping one for ``old_sha`` by the same rule as
        ``add`` and ``delete_rows``. Nothing happens when the row no longer shows
        ``old_sha``. Returns the hashes to hand to ``remove_files`` after the commit."""
        self.ensure(conn, new_sha, content)
        media = schema.media.c
        changed = conn.execute(
            update(schema.media)
            .where(media.id == media_id, media.sha256 == old_sha)
            .values(sha256=new_sha, size=size, content_type=content_type)
        ).rowcount
        if not changed or old_sha == new_sha:
            return []
        return self.unnamed(conn, [old_sha])

    def unnamed(self, conn: Connection, hashes: list[str]) -> list[str]:
        """Which of these contents no media row names (inside the transaction)."""
        if not hashes:
            return []
        media = schema.media.c
        named = set(
            conn.execute(select(media.sha256).where(media.sha256.in_(hashes)).distinct()).scalars()
        )
        return [sha for sha in dict.fromkeys(hashes) if sha not in named]

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


class BlobMedia(Media):
    """Stored images whose bytes ``blobs`` keeps (files, a shared folder, an object store):
    what every such kind reads the same way. Which rule keeps rows and bytes in step is the
    subclass's (one machine's writer turn, or a shared database's locks)."""

    def __init__(self, store, blobs: Blobs | str) -> None:
        self.store = store
        self.blobs = LocalFiles(blobs) if isinstance(blobs, str) else blobs

    @property
    def root(self) -> str | None:
        """The folder of the files (None when the bytes live elsewhere)."""
        return getattr(self.blobs, "root", None)

    def path(self, sha256: str) -> str:
        return self.blobs.path(sha256)

    def read(self, sha256: str) -> bytes | None:
        """The stored bytes of one content, or None when they are gone."""
        return self.blobs.get(sha256)

    def wipe(self) -> None:
        """Every stored content goes (the rows are deleted with the rest of the store)."""
        self.blobs.wipe()

    def bytes_used(self) -> int:
        """The stored content's bytes (a walk of the folder or a listing of the bucket:
        callers keep the figure a while)."""
        return self.blobs.bytes_used()


class MediaStore(BlobMedia):
    """Bytes kept by ``blobs`` (files by default), one machine's store (SQLite).

    The rule's two sides meet under the store's writer turn, which every write transaction
    of every process on the machine takes: ``ensure`` checks (and if need be writes) the
    content inside the upload's transaction, and ``remove_files`` checks the rows and removes
    the content while holding the turn, so no transaction commits between its check and the
    removal.
    """

    def write_file(self, content: bytes) -> str:
        """Store the bytes and return their hash: before the transaction that names them (no
        write under the writer turn); ``ensure`` checks again inside it."""
        sha = hashlib.sha256(content).hexdigest()
        self.blobs.store(sha, content)
        return sha

    def ensure(self, conn: Connection, sha256: str, content: bytes | None) -> None:
        if content is not None and not self.blobs.exists(sha256):
            self.blobs.put(sha256, content)

    def remove_files(self, hashes: list[str]) -> None:
        if not hashes:
            return
        named = select(schema.media.c.sha256).where(schema.media.c.sha256.in_(hashes))
        with self.store.writer_lock():  # no upload commits between the check and removal
            kept = set(self.store.query(lambda conn: conn.execute(named.distinct()).scalars()))
            for sha in hashes:
                if sha not in kept:
                    self.blobs.delete(sha)

    def sweep_orphans(self, conn: Connection) -> list[str]:
        """Remove content no media row names (bytes written for an upload that was refused
        in a race or never committed because the process died). Only safe while no other
        process writes: the server runs it once at start-up, before its workers."""
        named = set(conn.execute(select(schema.media.c.sha256).distinct()).scalars())
        removed = []
        for sha, _modified in self.blobs.listing():
            if sha not in named:
                self.blobs.delete(sha)
                removed.append(sha)
        return removed


class Blobs:
    """Where content lives, by hash: files (``LocalFiles``) or an object store
    (``media_s3.S3Objects``). Writes are whole (a reader never sees part of one)."""

    #: asking whether content exists costs less than writing it again (a ``stat``, not a
    #: request as slow as the write)
    cheap_exists = True

    def store(self, sha256: str, content: bytes) -> None:
        """The content is there afterwards (written unless cheaply found there)."""
        if not (self.cheap_exists and self.exists(sha256)):
            self.put(sha256, content)

    def get(self, sha256: str) -> bytes | None:
        raise NotImplementedError

    def put(self, sha256: str, content: bytes) -> None:
        raise NotImplementedError

    def exists(self, sha256: str) -> bool:
        raise NotImplementedError

    def delete(self, sha256: str) -> None:
        """Gone afterwards (no error when it was not there)."""
        raise NotImplementedError

    def delete_many(self, hashes: list[str]) -> None:
        """Each gone afterwards (an object store takes them in one request)."""
        for sha in hashes:
            self.delete(sha)

    def listing(self) -> Iterator[tuple[str, float]]:
        """Every stored hash and when it was written (wall-clock seconds)."""
        raise NotImplementedError

    def bytes_used(self) -> int:
        """Every stored content's bytes."""
        raise NotImplementedError

    def wipe(self) -> None:
        raise NotImplementedError


class LocalFiles(Blobs):
    """Content as files ``<root>/<sha[:2]>/<sha>``: under the data directory, or a shared
    folder (``--media file:///mnt/shared``).

    Like the store (WAL, ``synchronous=NORMAL``) a write survives a killed process, not a
    power cut: no fsync per upload."""

    def __init__(self, root: str) -> None:
        self.root = root

    def path(self, sha256: str) -> str:
        return os.path.join(self.root, sha256[:2], sha256)

    def get(self, sha256: str) -> bytes | None:
        try:
            with open(self.path(sha256), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def put(self, sha256: str, content: bytes) -> None:
        target = self.path(sha256)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target))
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, target)  # atomic: a reader sees all of it or nothing

    def exists(self, sha256: str) -> bool:
        return os.path.exists(self.path(sha256))

    def delete(self, sha256: str) -> None:
        try:
            os.remove(self.path(sha256))
        except FileNotFoundError:
            pass

    def listing(self) -> Iterator[tuple[str, float]]:
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    modified = os.path.getmtime(os.path.join(folder, name))
                except FileNotFoundError:
                    continue
                if SHA256.fullmatch(name):
                    yield name, modified
                elif modified < time.time() - PARTIAL_AGE_SECONDS:  # a write cut short
                    os.remove(os.path.join(folder, name))

    def bytes_used(self) -> int:
        total = 0
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.path.getsize(os.path.join(folder, name))
                except FileNotFoundError:  # removed while walking
                    continue
        return total

    def wipe(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _naming_columns(metadata) -> list:
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if any(key.column is schema.media.c.id for key in column.foreign_keys)
    ]
