"""Media of a shared (PostgreSQL) world whose bytes live outside the database: files in a
folder every host mounts, or an object store (``--media file:///…`` / ``s3://…``).

The rule of ``media.py`` is kept with a PostgreSQL advisory lock per content: an upload's
transaction takes it *shared* before it checks (and if need be writes again) its content,
and holds it to its commit; a removal takes it *exclusive* on its own session, then reads
whether a row names the content (a fresh read: every upload that held the lock has
committed or rolled back by then) and deletes the bytes before letting go. So a removal
never deletes bytes between an upload's check and its commit, whichever hosts they run on,
and the check needs no particular isolation level. Different contents never wait for each
other (a key collision only makes two of them take turns).

Work on many contents at once (pruning switches and removes dozens per run) costs a few
round trips, not one per content: the existence checks run side by side on a small pool of
threads, and the removals go in one request, under all their locks taken in key order.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, bindparam, select, text

from . import schema
from .clock import wall_seconds
from .media import BlobMedia, Blobs

#: content nobody names is swept only once it is this old (an upload may be mid-flight)
ORPHAN_AGE_SECONDS = 3600.0
#: the advisory locks' first key: this module's own space of locks
LOCK_SPACE = 0x6D656469  # "medi"

_SHARED = text("SELECT pg_advisory_xact_lock_shared(:space, :key)")
_EXCLUSIVE = text("SELECT pg_advisory_lock(:space, :key)")
_RELEASE = text("SELECT pg_advisory_unlock(:space, :key)")
_RELEASE_ALL = text("SELECT pg_advisory_unlock_all()")
#: object-store requests one batch of checks or writes has in flight
PARALLEL = 8
_NAMED = select(schema.media.c.id).where(schema.media.c.sha256 == bindparam("sha")).limit(1)


def lock_key(sha256: str) -> dict:
    """The advisory lock of one content (32 bits of its hash, as a signed integer)."""
    return {"space": LOCK_SPACE, "key": int(sha256[:8], 16) - 2**31}


class SharedMedia(BlobMedia):
    """Stored images of a shared database, bytes in ``blobs``."""

    def __init__(self, store, blobs: Blobs) -> None:
        super().__init__(store, blobs)

    @staticmethod
    def map(work, items: list) -> list:
        """``work`` over ``items`` on a few threads (object-store round trips overlap)."""
        if len(items) < 2:
            return [work(item) for item in items]
        with ThreadPoolExecutor(min(PARALLEL, len(items))) as pool:
            return list(pool.map(work, items))

    def write_file(self, content: bytes) -> str:
        """Store the bytes ahead of the transaction that names them (no object-store write
        while it is open, unless a removal took them meanwhile: ``ensure``)."""
        sha = hashlib.sha256(content).hexdigest()
        self.blobs.store(sha, content)
        return sha

    def ensure(self, conn: Connection, sha256: str, content: bytes | None) -> None:
        if content is None:
            return  # another row of this transaction names it: checked then
        conn.execute(_SHARED, lock_key(sha256))  # held to the commit
        if not self.blobs.exists(sha256):
            self.blobs.put(sha256, content)

    def ensure_many(self, conn: Connection, contents: dict[str, bytes]) -> None:
        for key in sorted({lock_key(sha)["key"] for sha in contents}):
            conn.execute(_SHARED, {"space": LOCK_SPACE, "key": key})  # held to the commit
        shas = list(contents)
        found = self.map(self.blobs.exists, shas)
        missing = [sha for sha, there in zip(shas, found, strict=True) if not there]
        self.map(lambda sha: self.blobs.put(sha, contents[sha]), missing)

    def remove_files(self, hashes: list[str]) -> None:
        """After the deleting transaction committed: the contents no row names go, under
        their exclusive locks (all taken, in key order, before the check)."""
        if hashes:
            self.store.query(lambda conn: self._remove_many(conn, list(dict.fromkeys(hashes))))

    def _remove_many(self, conn: Connection, hashes: list[str]) -> None:
        try:
            for key in sorted({lock_key(sha)["key"] for sha in hashes}):
                conn.execute(_EXCLUSIVE, {"space": LOCK_SPACE, "key": key})
            media = schema.media.c
            named = select(media.sha256).where(media.sha256.in_(hashes)).distinct()
            kept = set(conn.execute(named).scalars())
            self.blobs.delete_many([sha for sha in hashes if sha not in kept])
        finally:
            conn.execute(_RELEASE_ALL)  # this unit's own connection holds no other lock

    def _remove(self, conn: Connection, sha256: str) -> bool:
        key = lock_key(sha256)
        conn.execute(_EXCLUSIVE, key)
        try:
            if conn.execute(_NAMED, {"sha": sha256}).first() is not None:
                return False
            self.blobs.delete(sha256)
            return True
        finally:
            conn.execute(_RELEASE, key)

    def sweep_orphans(self, conn: Connection) -> list[str]:
        """Content no row names, written over an hour ago (hosts keep running while one
        restarts, so a younger one may belong to an upload in flight)."""
        named = set(conn.execute(select(schema.media.c.sha256).distinct()).scalars())
        old = wall_seconds() - ORPHAN_AGE_SECONDS
        stale = [sha for sha, at in self.blobs.listing() if at < old and sha not in named]
        return [sha for sha in stale if self.store.query(lambda c, sha=sha: self._remove(c, sha))]
