"""The store: SQLite through SQLAlchemy Core, shared by every worker process.

One file (``store.sqlite3``) in the data directory, WAL mode, foreign keys on. Writers queue
on a lock file (``flock``) before ``BEGIN IMMEDIATE``: the kernel hands the lock over the
moment it is free, where SQLite's own busy handler would sleep and poll, and two processes
never deadlock upgrading a read lock. A busy database is still retried here, never surfaced
to a client. Readers never wait (WAL).

Each unit of work (``transact``, ``query``) checks a connection out of the pool at its
start and hands it back at its end, so no thread holds one between units: a server that
starts a thread per request never runs the pool dry. A unit opened inside another one gets
a connection of its own. Never open a write unit of work inside another one in the same
thread: it would wait for itself.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from . import schema

T = TypeVar("T")

BUSY_TIMEOUT_MS = 15_000
RETRIES = 20
#: connections kept open, opened beyond them under load, and how long a unit waits for one
POOL_SIZE = 8
POOL_OVERFLOW = 32
POOL_TIMEOUT = 30.0

_CONNECTION_SERIALS = itertools.count(1)


class Store:
    """Owns the engine of one data directory; hands out read and write transactions."""

    dialect = "sqlite"

    def __init__(self, data_dir: str, name: str = "store", metadata=None) -> None:
        """``name``/``metadata``: another database file beside the world's (the journal)."""
        self.data_dir = data_dir
        self.metadata = metadata if metadata is not None else schema.metadata
        self.media_dir = os.path.join(data_dir, "media")
        os.makedirs(self.media_dir, exist_ok=True)
        self.path = os.path.join(data_dir, f"{name}.sqlite3")
        self.engine: Engine = create_engine(
            f"sqlite:///{self.path}",
            poolclass=QueuePool,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            pool_timeout=POOL_TIMEOUT,
            pool_use_lifo=True,  # a thread's next unit most likely gets the same one
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        event.listen(self.engine, "connect", _on_connect)
        event.listen(self.engine, "begin", _on_begin)
        self._local = threading.local()
        #: called after each committed write of this process (e.g. to drop a read version)
        self.write_listeners: list[Callable[[], None]] = []
        self._writer_mutex = threading.RLock()
        self._lock_fd = os.open(os.path.join(data_dir, f"{name}.writelock"), os.O_RDWR | os.O_CREAT)
        self._migrate()

    # -- transactions -------------------------------------------------------------------

    def transact(self, work: Callable[[Connection], T], row_locked: bool = False) -> T:
        """Run ``work`` in a write transaction, retrying it while the database is busy.
        (``row_locked`` is PostgreSQL's choice of isolation: here writers take turns.)"""
        with self.writer_lock():
            result = self._run(work, "writer", "IMMEDIATE")
        for listener in self.write_listeners:
            listener()
        return result

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """The turn to write: one thread of one process at a time, handed over in order."""
        with self._writer_mutex:
            depth = getattr(self._local, "lock_depth", 0)
            if self._lock_fd is None:  # a thread outliving its app (``dispose`` ran)
                raise RuntimeError(f"the store at {self.path} is closed")
            if depth == 0:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._local.lock_depth = depth + 1
            try:
                yield
            finally:
                self._local.lock_depth = depth
                if depth == 0:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def query(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` for reading; each statement sees the latest committed state.

        No transaction is opened (SQLite autocommit), which makes a read cost one statement;
        several statements may therefore see different (each committed) states.
        """
        return self._run(work, "reader", "NONE")

    def _run(self, work: Callable[[Connection], T], role: str, begin: str) -> T:
        for attempt in range(RETRIES):
            with self.engine.connect() as conn:  # this unit's own, back to the pool at its end
                conn.execution_options(sqlite_begin=begin)
                try:
                    with conn.begin():
                        return work(conn)
                except OperationalError as exc:
                    if not _is_busy(exc) or attempt == RETRIES - 1:
                        raise
                finally:
                    if role == "writer":
                        _renew_serial(conn)
            time.sleep(min(0.5, 0.01 * (2**attempt)) * random.random())
        raise AssertionError("unreachable")

    # -- lifecycle ----------------------------------------------------------------------

    def _migrate(self) -> None:
        from .migrate import upgrade_sqlite

        upgrade_sqlite(self)  # a write: several worker processes may start at once

    # -- dialect pieces the rest of the code asks for -----------------------------------

    def observe_statement(self) -> str:
        """The clock and the store's data version in one statement (every request runs it,
        straight to the driver). The ``data_version`` changes whenever another connection
        committed (``core.readcache``)."""
        return _OBSERVE_SQL

    def version_key(self, conn: Connection, version: int) -> tuple | None:
        """``data_version`` counts per connection: the connection's serial makes it unique.

        The serial belongs to the pooled DBAPI connection and is renewed after each write
        unit it ran: ``data_version`` ignores the connection's own commits."""
        serial = conn.info.get("serial")
        return (serial, version) if serial is not None else None

    def bytes_used(self) -> int:
        """The database's files on disk (its write-ahead log included)."""
        return sum(
            os.path.getsize(path)
            for path in (self.path, self.path + "-wal")
            if os.path.exists(path)
        )

    def config_key(self, conn: Connection, version: int, config=None) -> tuple | None:
        """The cache key of the configuration (settings, accounts, faults): the data
        version's, as reading them again costs no more than a look at the file."""
        return self.version_key(conn, version)

    def clear(self, conn: Connection) -> None:
        """Delete every row (the schema stays); media files are removed by the caller."""
        for table in reversed(self.metadata.sorted_tables):
            if table.name != "meta":
                conn.execute(table.delete())

    def dispose(self) -> None:
        self.engine.dispose()
        with self._writer_mutex:  # not under a writer's feet: its descriptor may be reused
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def _on_connect(dbapi_connection: sqlite3.Connection, record) -> None:
    record.info["serial"] = next(_CONNECTION_SERIALS)  # unique in this process
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _renew_serial(conn: Connection) -> None:
    """A connection that committed sees its own writes under the same ``data_version``:
    a new serial keeps replies cached before the write from matching after it."""
    if not conn.invalidated:
        conn.info["serial"] = next(_CONNECTION_SERIALS)


def _on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode != "NONE":
        conn.exec_driver_sql(f"BEGIN {mode}")


def _is_busy(exc: OperationalError) -> bool:
    message = str(exc.orig).lower() if exc.orig else str(exc).lower()
    return "locked" in message or "busy" in message


_OBSERVE_SQL = (
    "SELECT (SELECT frozen_us FROM clock WHERE id = 1),"
    " (SELECT offset_us FROM clock WHERE id = 1),"
    " (SELECT data_version FROM pragma_data_version())"
)
