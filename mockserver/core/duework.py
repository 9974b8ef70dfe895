"""Due work: jobs with a due time on the emulator clock, run exactly once.

Each vendor declares its job kinds (``JobKind``) in its descriptor and the server assembly
registers them on the emulator's own ``DueWork``; handlers get the emulator as an argument.
Whenever the clock passes due times (the clock
is moved through the control plane, the background tick fires; never on a request's path)
``run_due`` claims the due jobs in due-time order and applies each in its own write transaction, deleting the job in that
same transaction: a job is applied once even when several worker processes race for it.
On SQLite a claim is a lease on the wall clock, so work held by a crashed process is taken
over; on PostgreSQL it is a row lock held by the transaction that runs the job
(``FOR UPDATE SKIP LOCKED``), released by the database when its host dies.

A handler may split into ``prepare`` (slow work outside any transaction, e.g. image
analysis) and ``apply`` (the state change). Kinds marked ``background`` (webhook delivery)
run only on the background tick, never on a clock move's reply path.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, delete, or_, select, update
from sqlalchemy.exc import DBAPIError

from . import schema
from .clock import ClockState, state_from_row, wall_seconds
from .dialect import upsert
from .pgstore import is_retryable

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
BATCH = 64
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    key: str | None
    due_us: int
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class JobKind:
    """How one kind of job runs: ``prepare(emulator, job)`` outside any transaction (may be
    None), then ``apply(emulator, conn, job, prepared)`` in the write transaction that
    deletes the job. ``background`` kinds run only on the background tick."""

    kind: str
    apply: Callable[[Any, Connection, Job, Any], None]
    prepare: Callable[[Any, Job], Any] | None = None
    background: bool = False


def schedule(
    conn: Connection, kind: str, due_us: int, payload: dict | None = None, key: str | None = None
) -> None:
    """Add a job; with a ``key``, replace the pending job of that key (its due time moves)."""
    body = json.dumps(payload or {}, separators=(",", ":"))
    values = {"kind": kind, "key": key, "due_us": due_us, "payload": body}
    conn.execute(_INSERT if key is None else _UPSERTS[conn.dialect.name], values)


_INSERT = schema.jobs.insert().values(
    kind=bindparam("kind"),
    key=bindparam("key"),
    due_us=bindparam("due_us"),
    payload=bindparam("payload"),
)
#: one statement replaces a key's job: new due time and payload, any claim on it dropped
#: (a runner holding the old claim then finds its lease gone and leaves the job alone)
_UPSERTS = upsert(
    schema.jobs,
    values={name: bindparam(name) for name in ("kind", "key", "due_us", "payload")},
    index_elements=[schema.jobs.c.key],
    set_={
        "kind": "excluded.kind",
        "due_us": "excluded.due_us",
        "payload": "excluded.payload",
        "lease_until": None,
        "attempts": 0,
    },
)


def cancel(conn: Connection, key: str) -> None:
    conn.execute(delete(schema.jobs).where(schema.jobs.c.key == key))


class _ClockRow(NamedTuple):
    frozen_us: int | None
    offset_us: int | None
    version: int


class DueWork:
    """Runs the due jobs of one store."""

    def catch_up(self) -> ClockState:
        """Read the clock and run the request-path work due by then (the control plane's
        clock moves; requests never run due work, see ``observe``)."""
        state = self.observe()[0]
        self.settle(state.now_us)
        return state

    def observe(self) -> tuple[ClockState, tuple | None]:
        """The clock, and the store's data version as this thread's reader sees it: one
        query, and nothing run. A request does its own work only: what falls due is
        visible by reading (features filter on their own instants), and due work with
        effects (alerts, offline logs, webhooks, retries) runs on the background tick and
        when the clock is moved through the control plane."""
        sql = self.store.observe_statement()

        def read(conn: Connection):
            # every request runs this: straight to the driver
            row = _ClockRow(*conn.connection.driver_connection.execute(sql).fetchone())
            return self.store.version_key(conn, row.version), row

        version, row = self.store.query(read)
        state = state_from_row(row)
        return state, version

    def __init__(self, store, emulator=None) -> None:
        self.store = store
        self.emulator = emulator  # the owning emulator, handed to every handler
        self._handlers: dict[str, JobKind] = {}
        self._local = threading.local()

    def register(self, job_kind: JobKind) -> None:
        """Make ``job_kind`` runnable here (the server assembly does it per vendor)."""
        self._handlers[job_kind.kind] = job_kind

    def _kinds(self, background: bool) -> list[str]:
        return [kind for kind, h in self._handlers.items() if background or not h.background]

    def _claimable(self, until_us: int, kinds: list[str]):
        jobs = schema.jobs.c
        return and_(
            jobs.due_us <= until_us,
            jobs.kind.in_(kinds),
            or_(jobs.lease_until.is_(None), jobs.lease_until < wall_seconds()),
        )

    def pending(self, until_us: int, background: bool = False) -> bool:
        kinds = self._kinds(background)
        query = select(schema.jobs.c.id).where(self._claimable(until_us, kinds)).limit(1)
        return self.store.query(lambda conn: conn.execute(query).first() is not None)

    def run_due(self, until_us: int, background: bool = False, limit: int = 100_000) -> int:
        """Run every job due at or before ``until_us``; returns how many ran."""
        if getattr(self._local, "running", False):
            return 0  # a handler's own request path: never re-enter
        self._local.running = True
        try:
            if self.emulator.backend.row_locks:
                return self._run_due_locked(until_us, background, limit)
            done = 0
            while done < limit and self.pending(until_us, background):
                batch = self.store.transact(lambda conn: self._claim(conn, until_us, background))
                if not batch:
                    break
                for job, lease in batch:
                    self._run(job, lease)
                    done += 1
            return done
        finally:
            self._local.running = False

    def settle(self, until_us: int, timeout: float = LEASE_SECONDS) -> int:
        """Run the request-path work due by ``until_us`` and wait for what other workers
        hold, so that afterwards every such job has been applied (a clock advance answers
        only then, whichever process claimed the work)."""
        done = self.run_due(until_us)
        deadline = wall_seconds() + timeout
        jobs = schema.jobs.c
        waiting = (
            select(jobs.id)
            .where(jobs.due_us <= until_us, jobs.kind.in_(self._kinds(False)))
            .limit(1)
        )
        while wall_seconds() < deadline:
            if self.store.query(lambda conn: conn.execute(waiting).first()) is None:
                break
            time.sleep(0.005)
            done += self.run_due(until_us)  # a lease that lapsed (crashed holder) is ours
        return done

    @staticmethod
    def release_leases(conn: Connection) -> int:
        """Forget every claim: at start-up no worker runs yet, so a lease can only be a
        crashed process's; its work is due again at once instead of after the lease."""
        return conn.execute(
            update(schema.jobs)
            .where(schema.jobs.c.lease_until.is_not(None))
            .values(lease_until=None)
        ).rowcount

    def _claim(self, conn: Connection, until_us: int, background: bool):
        kinds = self._kinds(background)
        rows = conn.execute(
            select(schema.jobs)
            .where(self._claimable(until_us, kinds))
            .order_by(schema.jobs.c.due_us, schema.jobs.c.id)
            .limit(BATCH)
        ).all()
        lease = wall_seconds() + LEASE_SECONDS + random.random() / 1000
        claimed = []
        for row in rows:
            conn.execute(
                update(schema.jobs).where(schema.jobs.c.id == row.id).values(lease_until=lease)
            )
            job = Job(row.id, row.kind, row.key, row.due_us, json.loads(row.payload), row.attempts)
            claimed.append((job, lease))
        return claimed

    # -- PostgreSQL: a claim is a row lock held by the transaction that runs the job ---------

    def _run_due_locked(self, until_us: int, background: bool, limit: int) -> int:
        """Claim one due job with ``FOR UPDATE SKIP LOCKED``, prepare, apply and delete it in
        that one transaction. Hosts racing for work skip each other's rows instead of
        waiting; a host that dies mid-job loses its connection, PostgreSQL rolls the
        transaction back and the row is free for the next runner at once (no lease to
        expire)."""
        done = 0
        prepared: dict[int, Any] = {}  # kept across retries: a webhook is not sent twice
        while done < limit:
            ran = self.store.transact(
                lambda conn: self._run_one_locked(conn, until_us, background, prepared)
            )
            if not ran:
                break
            prepared.clear()
            done += 1
        return done

    def _run_one_locked(
        self, conn: Connection, until_us: int, background: bool, prepared: dict[int, Any]
    ) -> bool:
        row = conn.execute(
            select(schema.jobs)
            .where(self._claimable(until_us, self._kinds(background)))
            .order_by(schema.jobs.c.due_us, schema.jobs.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if row is None:
            return False
        job = Job(row.id, row.kind, row.key, row.due_us, json.loads(row.payload), row.attempts)
        conn.execute(delete(schema.jobs).where(schema.jobs.c.id == job.id))
        handler = self._handlers[job.kind]  # only registered kinds are ever claimed
        try:
            with conn.begin_nested():
                if job.id not in prepared:
                    prepared[job.id] = (
                        handler.prepare(self.emulator, job) if handler.prepare else None
                    )
                handler.apply(self.emulator, conn, job, prepared[job.id])
        except DBAPIError as error:
            if is_retryable(error):
                raise  # the whole unit of work is tried again
            self._give_back(conn, job, error)
        except Exception as error:  # a broken job must not take the request with it
            self._give_back(conn, job, error)
        return True

    @staticmethod
    def _give_back(conn: Connection, job: Job, error: Exception) -> None:
        """The failed job again, for a later try (a fresh row, the same key and payload)."""
        log.error("job %s (%s) failed: %r", job.id, job.kind, error, exc_info=error)
        if job.attempts + 1 >= MAX_ATTEMPTS:
            log.error("job %s (%s) dropped after %s attempts", job.id, job.kind, MAX_ATTEMPTS)
            return
        conn.execute(
            schema.jobs.insert().values(
                kind=job.kind,
                key=job.key,
                due_us=job.due_us,
                payload=json.dumps(job.payload, separators=(",", ":")),
                lease_until=wall_seconds() + 5 * (job.attempts + 1),
                attempts=job.attempts + 1,
            )
        )

    # -- SQLite: a claim is a lease on the wall clock -----------------------------------------

    def _run(self, job: Job, lease: float) -> None:
        handler = self._handlers[job.kind]  # only registered kinds are ever claimed
        try:
            prepared = handler.prepare(self.emulator, job) if handler.prepare else None

            def work(conn: Connection) -> None:
                if self._finish(conn, job, lease):
                    handler.apply(self.emulator, conn, job, prepared)

            self.store.transact(work)
        except Exception:  # a broken job must not take the request with it
            log.exception("job %s (%s) failed", job.id, job.kind)
            self.store.transact(lambda conn: self._release(conn, job, lease))

    @staticmethod
    def _finish(conn: Connection, job: Job, lease: float) -> bool:
        """Delete the job if this runner still holds it; False if another took it over."""
        jobs = schema.jobs.c
        result = conn.execute(
            delete(schema.jobs).where(and_(jobs.id == job.id, jobs.lease_until == lease))
        )
        return result.rowcount == 1

    @staticmethod
    def _release(conn: Connection, job: Job, lease: float) -> None:
        """Give a failed job back for a later try; after ``MAX_ATTEMPTS`` it is dropped."""
        jobs = schema.jobs.c
        if job.attempts + 1 >= MAX_ATTEMPTS:
            log.error("job %s (%s) dropped after %s attempts", job.id, job.kind, MAX_ATTEMPTS)
            conn.execute(
                delete(schema.jobs).where(and_(jobs.id == job.id, jobs.lease_until == lease))
            )
            return
        conn.execute(
            update(schema.jobs)
            .where(and_(jobs.id == job.id, jobs.lease_until == lease))
            .values(lease_until=wall_seconds() + 5 * (job.attempts + 1), attempts=job.attempts + 1)
        )
