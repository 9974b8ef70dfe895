"""The store: SQLite through SQLAlchemy Core, shared by every worker process.

One file (``store.sqlite3``) in the data directory, WAL mode, foreign keys on. Writers queue
on a lock file (``flock``) before ``BEGIN IMMEDIATE``: the kernel hands the lock over the
moment it is free, where SQLite's own busy handler would sleep and poll, and two processes
never deadlock upgrading a read lock. A busy database is still retried here, never surfaced
to a client. Readers never wait (WAL).

Never open a write unit of work inside another one in the same thread: it would wait for
itself.
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

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from . import schema

T = TypeVar("T")

BUSY_TIMEOUT_MS = 15_000
RETRIES = 20

_CONNECTION_SERIALS = itertools.count(1)

#: version -> list of SQL statements that bring a store from version-1 to version
MIGRATIONS: dict[int, list[str]] = {
    2: [
        "ALTER TABLE faults ADD COLUMN seen INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE journal ADD COLUMN wall_us INTEGER",
        "ALTER TABLE journal ADD COLUMN retry_after FLOAT",
        "ALTER TABLE journal ADD COLUMN next_url TEXT",
    ],
    3: ["DROP TABLE IF EXISTS journal"],  # moved to journal.sqlite3
    4: [],  # mutant_deletions: a new table, made by create_all
    5: [],  # ParkPow tools' tables (pp_visit_data, pp_tags, ...): new tables, create_all
    6: [  # logs written at acceptance, visible processing_delay later
        "ALTER TABLE va_logs ADD COLUMN visible_us INTEGER NOT NULL DEFAULT 0",
        "UPDATE va_logs SET visible_us = created_us",
        "ALTER TABLE va_logs ADD COLUMN forced TEXT",
        "CREATE INDEX IF NOT EXISTS ix_va_references_camera"
        " ON va_references (camera_id, created_us)",
        "CREATE INDEX IF NOT EXISTS ix_va_logs_visible ON va_logs (visible_us)",
    ],
}


class Store:
    """Owns the engine of one data directory; hands out read and write transactions."""

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
            pool_size=8,
            max_overflow=32,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        event.listen(self.engine, "connect", _on_connect)
        event.listen(self.engine, "begin", _on_begin)
        self._local = threading.local()
        #: called after each committed write of this process (e.g. to drop a read version)
        self.write_listeners: list[Callable[[], None]] = []
        self._writer_mutex = threading.RLock()
        self._lock_fd = os.open(os.path.join(data_dir, f"{name}.writelock"), os.O_RDWR | os.O_CREAT)
        self._held: list[Connection] = []
        self._held_lock = threading.Lock()
        self._migrate()

    # -- transactions -------------------------------------------------------------------

    def transact(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction, retrying it while the database is busy."""
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
            conn = self._thread_connection(role, begin)
            if conn.in_transaction():  # re-entered from inside another unit of work
                with self.engine.connect().execution_options(sqlite_begin=begin) as nested:
                    with nested.begin():
                        return work(nested)
            try:
                with conn.begin():
                    return work(conn)
            except OperationalError as exc:
                if conn.invalidated:
                    self._drop_thread_connection(role)
                if not _is_busy(exc) or attempt == RETRIES - 1:
                    raise
                time.sleep(min(0.5, 0.01 * (2**attempt)) * random.random())
        raise AssertionError("unreachable")

    def _thread_connection(self, role: str, begin: str) -> Connection:
        """One long-lived connection per thread and role: no pool round trip per request."""
        conn = getattr(self._local, role, None)
        if conn is None or conn.closed:
            conn = self.engine.connect().execution_options(sqlite_begin=begin)
            conn.info["serial"] = next(_CONNECTION_SERIALS)  # unique in this process
            setattr(self._local, role, conn)
            with self._held_lock:
                self._held.append(conn)
        return conn

    def _drop_thread_connection(self, role: str) -> None:
        conn = getattr(self._local, role, None)
        setattr(self._local, role, None)
        if conn is not None:
            conn.close()

    # -- lifecycle ----------------------------------------------------------------------

    def _migrate(self) -> None:
        def work(conn: Connection) -> None:
            self.metadata.create_all(conn)
            if self.metadata is not schema.metadata:
                return  # a side database: created as it is, never migrated
            row = conn.execute(
                select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
            ).first()
            version = int(row[0]) if row else 0
            if version == 0:
                conn.execute(
                    schema.meta.insert().values(
                        key="schema_version", value=str(schema.SCHEMA_VERSION)
                    )
                )
                return
            for step in range(version + 1, schema.SCHEMA_VERSION + 1):
                for statement in MIGRATIONS.get(step, []):
                    conn.exec_driver_sql(statement)
            if version != schema.SCHEMA_VERSION:
                conn.execute(
                    schema.meta.update()
                    .where(schema.meta.c.key == "schema_version")
                    .values(value=str(schema.SCHEMA_VERSION))
                )

        self.transact(work)

    def clear(self, conn: Connection) -> None:
        """Delete every row (the schema stays); media files are removed by the caller."""
        for table in reversed(self.metadata.sorted_tables):
            if table.name != "meta":
                conn.execute(table.delete())

    def dispose(self) -> None:
        with self._held_lock:
            held, self._held = self._held, []
        for conn in held:
            try:
                conn.close()
            except Exception:  # a connection owned by another thread may be mid-use
                pass
        self.engine.dispose()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _on_connect(dbapi_connection: sqlite3.Connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode != "NONE":
        conn.exec_driver_sql(f"BEGIN {mode}")


def _is_busy(exc: OperationalError) -> bool:
    message = str(exc.orig).lower() if exc.orig else str(exc).lower()
    return "locked" in message or "busy" in message
