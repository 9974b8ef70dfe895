"""The state every worker process (and host) of one world shares outside its tables.

On SQLite (``SharedState``): a small memory-mapped file every worker process of one store
shares.

It carries what must be cheap to read on every request and agreed on by all workers:

* the *faults token*: any change to the fault table writes a fresh random value, so a
  worker re-reads its cached fault list only when the token differs (one memory read per
  request instead of a query);
* one *journal slot* per worker process: how many requests it recorded and how many of
  them it has written to the store, so a reader can wait for the other workers' buffered
  journal entries instead of missing them.

Only the owner of a slot writes it (single writer, aligned 8-byte fields), so no lock is
needed on the request path; claiming a slot takes an ``flock`` once per process.
One machine only: a world shared by several hosts (PostgreSQL) uses
``DatabaseSharedState``:

* the *faults token* is a database sequence: a change to the fault table advances it, and
  each process re-reads its cached fault list when the value it reads differs;
* there are no *journal slots*: in this mode every host writes its journal entries before
  the request ends (``Backend.journal_immediate``), so there is no buffer to wait for.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import secrets
import struct
import threading

from sqlalchemy import text

SIZE = 4096
FAULTS_TOKEN_AT = 0
SLOTS_AT = 64
SLOT_SIZE = 32  # pid, recorded, flushed, spare (4 x int64)
SLOTS = (SIZE - SLOTS_AT) // SLOT_SIZE
_SLOT = struct.Struct("<qqq")
_TOKEN = struct.Struct("<Q")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SharedState:
    """The mapped file of one data directory; ``None``-safe callers fall back to queries."""

    def __init__(self, data_dir: str) -> None:
        self.path = os.path.join(data_dir, "control.shm")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < SIZE:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    if os.fstat(fd).st_size < SIZE:
                        os.ftruncate(fd, SIZE)
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            self._map = mmap.mmap(fd, SIZE)
        except Exception:
            os.close(fd)
            raise
        self._fd = fd
        self._lock = threading.Lock()

    # -- faults token -------------------------------------------------------------------

    def faults_token(self, observed: tuple | None = None) -> int:
        """The token (``observed``, a request's reading of the store, is not needed)."""
        return _TOKEN.unpack_from(self._map, FAULTS_TOKEN_AT)[0]

    def touch_faults(self) -> None:
        """Announce a change of the fault table (call after the change is committed)."""
        _TOKEN.pack_into(self._map, FAULTS_TOKEN_AT, secrets.randbits(63) + 1)

    # -- journal slots ------------------------------------------------------------------

    def claim_slot(self) -> int | None:
        """A free slot for this process (a slot of a dead process is free again)."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            for index in range(SLOTS):
                pid, _, _ = self._slot(index)
                if pid == 0 or not _alive(pid):
                    _SLOT.pack_into(self._map, self._at(index), os.getpid(), 0, 0)
                    return index
            return None
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def release_slot(self, index: int) -> None:
        _SLOT.pack_into(self._map, self._at(index), 0, 0, 0)

    def set_recorded(self, index: int, recorded: int) -> None:
        struct.pack_into("<q", self._map, self._at(index) + 8, recorded)

    def set_flushed(self, index: int, flushed: int) -> None:
        struct.pack_into("<q", self._map, self._at(index) + 16, flushed)

    def pending_slots(self, own: int | None) -> dict[int, int]:
        """Slot -> recorded count, for live slots of other processes with unwritten entries."""
        pending = {}
        for index in range(SLOTS):
            if index == own:
                continue
            pid, recorded, flushed = self._slot(index)
            if pid and recorded > flushed and _alive(pid):
                pending[index] = recorded
        return pending

    def flushed(self, index: int) -> tuple[int, int]:
        pid, _, flushed = self._slot(index)
        return pid, flushed

    def close(self) -> None:
        with self._lock:
            if self._map is not None:
                self._map.close()
                self._map = None
                os.close(self._fd)

    def _slot(self, index: int) -> tuple[int, int, int]:
        return _SLOT.unpack_from(self._map, self._at(index))

    @staticmethod
    def _at(index: int) -> int:
        return SLOTS_AT + index * SLOT_SIZE


def open_shared(data_dir: str) -> SharedState | None:
    """The shared state of a data directory, or ``None`` where mapping is impossible."""
    try:
        return SharedState(data_dir)
    except (OSError, ValueError):
        return None


_READ = text("SELECT last_value FROM mockserver_faults_token")
_TOUCH = text("SELECT nextval('mockserver_faults_token')")


class DatabaseSharedState:
    """The same interface as ``SharedState``, backed by the shared database."""

    def __init__(self, store) -> None:
        self.store = store

    def faults_token(self, observed: tuple | None = None) -> object:
        """``observed``: the configuration's version a request read with the clock (every
        change of the fault table steps it, in its transaction); else the counter."""
        if observed is not None:
            return observed
        return self.store.query(lambda conn: conn.execute(_READ).scalar_one())

    def touch_faults(self) -> None:
        """Announce a change of the fault table (call after the change is committed)."""
        self.store.query(lambda conn: conn.execute(_TOUCH))

    def claim_slot(self) -> None:
        return None

    def release_slot(self, index: int) -> None:
        """No slots in this mode."""

    def pending_slots(self, own: int | None) -> dict[int, int]:
        return {}

    def close(self) -> None:
        """Nothing held."""
