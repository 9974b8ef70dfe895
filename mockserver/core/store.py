"""The store: SQLite through SQLAlchemy Core, shared by every worker process.

One file (``store.sqlite3``) in the data directory, WAL mode, foreign keys on. Writers take
the lock up front (``BEGIN IMMEDIATE``) so two processes never deadlock upgrading a read
lock; a busy database is waited for and retried here, never surfaced to a client.
"""

from __future__ import annotations

import os
import random
import sqlite3
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

#: version -> list of SQL statements that bring a store from version-1 to version
MIGRATIONS: dict[int, list[str]] = {}


class Store:
    """Owns the engine of one data directory; hands out read and write transactions."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.media_dir = os.path.join(data_dir, "media")
        os.makedirs(self.media_dir, exist_ok=True)
        self.path = os.path.join(data_dir, "store.sqlite3")
        self.engine: Engine = create_engine(
            f"sqlite:///{self.path}",
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=32,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        event.listen(self.engine, "connect", _on_connect)
        event.listen(self.engine, "begin", _on_begin)
        self._migrate()

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent snapshot for reading (deferred transaction)."""
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """An exclusive write transaction. Prefer ``transact`` where a retry is harmless."""
        with self.engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
            with conn.begin():
                yield conn

    def transact(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction, retrying it while the database is busy."""
        for attempt in range(RETRIES):
            try:
                with self.write() as conn:
                    return work(conn)
            except OperationalError as exc:
                if not _is_busy(exc) or attempt == RETRIES - 1:
                    raise
                time.sleep(min(0.5, 0.01 * (2**attempt)) * random.random())
        raise AssertionError("unreachable")

    def query(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a read transaction, retrying while the database is busy."""
        for attempt in range(RETRIES):
            try:
                with self.read() as conn:
                    return work(conn)
            except OperationalError as exc:
                if not _is_busy(exc) or attempt == RETRIES - 1:
                    raise
                time.sleep(min(0.5, 0.01 * (2**attempt)) * random.random())
        raise AssertionError("unreachable")

    # -- lifecycle ----------------------------------------------------------------------

    def _migrate(self) -> None:
        def work(conn: Connection) -> None:
            schema.metadata.create_all(conn)
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
        for table in reversed(schema.metadata.sorted_tables):
            if table.name != "meta":
                conn.execute(table.delete())

    def dispose(self) -> None:
        self.engine.dispose()


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
    conn.exec_driver_sql(f"BEGIN {mode}")


def _is_busy(exc: OperationalError) -> bool:
    message = str(exc.orig).lower() if exc.orig else str(exc).lower()
    return "locked" in message or "busy" in message
