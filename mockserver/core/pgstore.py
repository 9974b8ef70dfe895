"""The store on PostgreSQL: one database shared by any number of emulator hosts.

Write units of work run at ``SERIALIZABLE`` isolation and are retried when PostgreSQL
reports a serialization failure or a deadlock: every rule that SQLite keeps with its single
writer (one open visit per plate and lot, throttle histories, fault budgets) holds across
hosts with no lock that serialises all writers; only transactions that touch the same rows
wait for, or retry after, each other. A unit that keeps its rule with row locks instead
(``row_locked``: an accepted upload, whose window is a locking ``UPDATE``) runs at
``READ COMMITTED``: it waits for the rows it shares, and runs once.

Reads run in autocommit, one snapshot per statement, like the SQLite store's readers.
Each unit of work checks a connection out of the pool for its own duration (no thread
holds one between units), exactly as on SQLite.

Every committed world write advances the ``mockserver_world_version`` sequence *after* the
commit, in the commit's round trip: a read cache on any host keys its replies on that
value, so a reply built before a commit on another host is never served after it (a
sequence is outside transactions, so a reader never sees a version ahead of the data it
belongs to). Settings, accounts, faults and ``meta`` have a version of their own,
``meta.config_version``, stepped by triggers in the transaction that changes them: caches
of what a request reads of them key on it, and uploads do not move it.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg.types.string import StrDumperUnknown
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from . import pglink, schema

T = TypeVar("T")

#: how long a write keeps retrying after serialization failures before it gives up
RETRY_SECONDS = 60.0
#: SQLSTATEs worth retrying: serialization_failure, deadlock_detected
RETRY_STATES = {"40001", "40P01"}
#: a unique violation raced by a concurrent insert: retried a few times (then it is real)
UNIQUE_VIOLATION = "23505"
UNIQUE_RETRIES = 3
#: connections kept open, opened beyond them under load, and how long a unit waits for one
POOL_SIZE = 8
POOL_OVERFLOW = 32
POOL_TIMEOUT = 30.0

WORLD_VERSION = "mockserver_world_version"


def engine_url(url: str) -> str:
    """A PostgreSQL URL with the psycopg 3 driver, whatever driver the user named."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def is_retryable(error: BaseException, attempt: int = 0) -> bool:
    """A failure a fresh try of the same work can avoid (a concurrent writer won a race)."""
    state = getattr(getattr(error, "orig", error), "sqlstate", None)
    return state in RETRY_STATES or (state == UNIQUE_VIOLATION and attempt < UNIQUE_RETRIES)


class PostgresStore:
    """One database's engine; the same units of work as the SQLite ``Store``."""

    dialect = "postgresql"

    def __init__(
        self,
        url: str,
        name: str = "store",
        metadata=None,
        isolation: str = "SERIALIZABLE",
        durable: bool = True,
        timeout: float = pglink.DEFAULT_TIMEOUT,
    ) -> None:
        """``isolation``: of the write units (the journal's appends need no more than
        ``READ COMMITTED``); ``durable=False``: commits do not wait for the disk (a database
        crash may lose the last moments; the request journal is diagnostics);
        ``timeout``: the longest wait for the database (``pglink``)."""
        self.url = url
        self.isolation = isolation
        self.serial = next(_STORE_SERIALS)  # unique in this process
        self.name = name
        self.metadata = metadata if metadata is not None else schema.metadata
        self.engine: Engine = create_engine(
            engine_url(url),
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            pool_timeout=POOL_TIMEOUT,
            pool_use_lifo=True,  # a thread's next unit most likely gets the same one
            connect_args={
                **pglink.connect_args(timeout),
                "application_name": f"mockserver-{name}",
                **({} if durable else {"options": "-c synchronous_commit=off"}),
            },
        )
        event.listen(self.engine, "connect", _on_connect)
        self.limits = pglink.Limits(None)  # none while migrating
        pglink.install(self.engine, self.limits)
        #: called after each committed write of this process (e.g. to drop a read version)
        self.write_listeners: list[Callable[[], None]] = []
        self._versioned = self.metadata is schema.metadata
        self._migrate()
        self.limits.seconds = pglink.Limits(timeout).seconds

    # -- transactions -------------------------------------------------------------------

    def transact(self, work: Callable[[Connection], T], row_locked: bool = False) -> T:
        """Run ``work`` in a serializable transaction, again after a serialization failure.

        ``row_locked``: ``work`` keeps its rules with row locks and statements that see the
        latest commits (``UPDATE ... WHERE`` re-checked on the row it waited for, a unique
        key), so ``READ COMMITTED`` suffices: it waits for the rows it shares with another
        writer instead of failing and running again."""
        isolation = "READ COMMITTED" if row_locked else self.isolation
        result = self._run(work, "writer", isolation)
        for listener in self.write_listeners:
            listener()
        return result

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """No global writer turn on PostgreSQL: row locks and serializable checks instead."""
        yield

    def query(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` for reading, each statement at the latest committed state."""
        return self._run(work, "reader", "AUTOCOMMIT")

    def _run(self, work: Callable[[Connection], T], role: str, isolation: str) -> T:
        deadline = time.monotonic() + RETRY_SECONDS
        attempt = 0
        while True:
            try:
                with self.engine.connect() as conn:  # this unit's own, back to the pool after
                    conn.execution_options(isolation_level=isolation)
                    with conn.begin():
                        try:
                            result = work(conn)
                        except psycopg.OperationalError:
                            # raised by the driver itself (a statement sent straight to it):
                            # the connection is lost, and no rollback may wait on it again
                            conn.invalidate()
                            raise
                        if role == "writer" and self._versioned:
                            _commit_and_count(conn)
                        return result
            except (DBAPIError, psycopg.Error) as error:
                # a read on a connection the server dropped (a restart) is simply read again
                # (the pool then replaces every connection older than the loss); a write is
                # not: its commit may have happened
                lost = getattr(error, "connection_invalidated", False)
                again = lost and role == "reader" and attempt == 0
                again = again and not isinstance(error.orig, pglink.NoReply)  # waited enough
                if not (again or is_retryable(error, attempt)) or time.monotonic() > deadline:
                    raise
            attempt += 1
            time.sleep(min(0.2, 0.002 * (2 ** min(attempt, 8))) * random.random())

    # -- dialect pieces the rest of the code asks for -----------------------------------

    def observe_statement(self) -> str:
        """The clock, the world version and the configuration's version in one statement
        (every request runs it)."""
        return _OBSERVE_SQL

    def version_key(self, conn: Connection, version: int) -> tuple:
        """The read-cache key of a world version: the same on every connection of this
        store; the store's serial keeps another database's equal count from matching."""
        return ("pg", self.serial, version)

    def config_key(self, conn: Connection, version: int, config: str | None) -> tuple | None:
        """The cache key of the configuration (settings, accounts, faults, ``meta``):
        ``meta.config_version``, which only their changes step, in their transaction."""
        return None if config is None else ("pg-config", self.serial, config)

    # -- lifecycle ----------------------------------------------------------------------

    def _migrate(self) -> None:
        from .migrate import upgrade_postgresql

        upgrade_postgresql(self)

    def bytes_used(self) -> int:
        """Its tables' bytes, indexes and TOAST included (from the catalog)."""
        return self.bytes_used_of(*(table.name for table in self.metadata.sorted_tables))

    def bytes_used_of(self, *tables: str) -> int:
        sizes = " + ".join(f"pg_total_relation_size('{name}')" for name in tables) or "0"
        return self.query(lambda conn: int(conn.exec_driver_sql(f"SELECT {sizes}").scalar()))

    def clear(self, conn: Connection) -> None:
        """Delete every row (the schema stays). The world's numbering restarts as in a new
        store; the journal's keeps growing, as on SQLite (a live tail asks for ids after
        the last one it saw)."""
        names = [t.name for t in self.metadata.sorted_tables if t.name != "meta"]
        if names:
            quoted = ", ".join(f'"{name}"' for name in names)
            restart = "RESTART IDENTITY" if self._versioned else "CONTINUE IDENTITY"
            conn.exec_driver_sql(f"TRUNCATE {quoted} {restart} CASCADE")

    def dispose(self) -> None:
        self.engine.dispose()


class _NulSafeText(StrDumperUnknown):
    """Text as psycopg sends it, a NUL byte (which PostgreSQL text cannot hold) as U+FFFD:
    a value with one never matches a stored row, where SQLite would compare it as is, and
    it can never turn a request into a 500. (Input rules reject NUL where the vendor
    does.)"""

    def dump(self, obj: str):
        return super().dump(obj.replace("\x00", "\ufffd") if "\x00" in obj else obj)


def _on_connect(dbapi_connection, _record) -> None:
    dbapi_connection.adapters.register_dumper(str, _NulSafeText)


_STORE_SERIALS = itertools.count(1)
_OBSERVE_SQL = (
    "SELECT (SELECT frozen_us FROM clock WHERE id = 1),"
    " (SELECT offset_us FROM clock WHERE id = 1),"
    f" (SELECT last_value FROM {WORLD_VERSION}),"
    " (SELECT value FROM meta WHERE key = 'config_version')"
)
#: the commit of a write unit and the version after it, in one round trip (no parameters:
#: one simple query of three statements). Whether the transaction changed a row is noted
#: in a session setting before the commit; the version moves only then, and only after
#: the commit (a sequence is outside transactions: advanced before, a reader could key a
#: reply built on the old rows with the new version).
_COMMIT_AND_COUNT = (
    "SELECT set_config('mockserver.wrote',"
    " (pg_current_xact_id_if_assigned() IS NOT NULL)::text, false);"
    " COMMIT;"
    " SELECT CASE WHEN current_setting('mockserver.wrote') = 'true'"
    f" THEN nextval('{WORLD_VERSION}') END"
)


def _commit_and_count(conn: Connection) -> None:
    """Commit the unit's transaction with the world version's step (``_COMMIT_AND_COUNT``);
    SQLAlchemy's own commit then finds nothing left to do."""
    conn.connection.driver_connection.execute(_COMMIT_AND_COUNT, prepare=False)
