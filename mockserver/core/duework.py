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
analysis, a webhook POST) and ``apply`` (the state change). Such a job is *claimed* on
both dialects: a short transaction sets its lease (``CLAIM_SECONDS``) and commits, then
``prepare`` runs with no transaction open while a renewal thread keeps the lease alive,
then a second short transaction deletes the job (only if the lease is still this
runner's) and applies the result. Another runner never takes a job whose lease is live,
so two live runners never both prepare it: a webhook attempt is sent once across
processes and hosts. A runner that dies mid-prepare stops renewing; its lease lapses
after at most ``CLAIM_SECONDS`` and the job runs again (at least once for that attempt:
a receiver may see it twice). So does a job whose result cannot be recorded.

Kinds marked ``background`` (webhook delivery) run only on the background tick, never on
a clock move's reply path. A kind with ``every`` (housekeeping, e.g. pruning media) always
has one pending job, keyed by its kind: the tick adds it when it is missing (a fresh or
reset store), and its handler schedules the next one.
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

from . import outages, schema
from .clock import ClockState, state_from_row, wall_seconds
from .dialect import insert_or_ignore, upsert
from .pgstore import is_retryable

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0  # a batch claimed on SQLite, waiting its turn in its runner
#: a job in ``prepare`` (a webhook in flight): renewed every ``CLAIM_SECONDS / 5`` while its
#: runner lives, so a dead runner's job is taken over within this many seconds
CLAIM_SECONDS = 10.0
#: how long a clock move waits for due work that other workers hold, or that failed and
#: waits for its next try; what is still due then is reported, not waited for
SETTLE_SECONDS = 2.0
BATCH = 64
#: a prepared result (a webhook sent) is recorded again every ``RECORD_RETRY`` seconds
#: while the database is unreachable, for at most ``RECORD_PATIENCE`` seconds
RECORD_RETRY = 0.1
RECORD_PATIENCE = 600.0
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
    deletes the job. ``background`` kinds run only on the background tick; ``every``
    (seconds): a recurring kind, kept pending by the tick under the key of its name."""

    kind: str
    apply: Callable[[Any, Connection, Job, Any], None]
    prepare: Callable[[Any, Job], Any] | None = None
    background: bool = False
    every: float | None = None


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


_ONCE = insert_or_ignore(schema.jobs)


def _due_now(conn: Connection, kind: str, due_us: int) -> None:
    """The recurring job keyed ``kind`` is due at ``due_us`` at the latest (added when
    missing; another host may add it at the same moment)."""
    conn.execute(_ONCE[conn.dialect.name].values(kind=kind, key=kind, due_us=due_us, payload="{}"))
    conn.execute(
        update(schema.jobs)
        .where(schema.jobs.c.key == kind, schema.jobs.c.due_us > due_us)
        .values(due_us=due_us)
    )


def cancel(conn: Connection, key: str) -> None:
    conn.execute(delete(schema.jobs).where(schema.jobs.c.key == key))


class _ClockRow(NamedTuple):
    frozen_us: int | None
    offset_us: int | None
    version: int
    config: str | None = None


class DueWork:
    """Runs the due jobs of one store."""

    def catch_up(self, timeout: float | None = None) -> ClockState:
        """Read the clock and run the request-path work due by then (the control plane's
        clock moves; requests never run due work, see ``observe``)."""
        state = self.observe()[0]
        self.settle(state.now_us, timeout)
        return state

    def observe(self) -> tuple[ClockState, tuple | None, tuple | None]:
        """The clock, the store's data version as this thread's reader sees it and the
        configuration's version (``Store.config_key``): one query, and nothing run. A
        request does its own work only: what falls due is visible by reading (features
        filter on their own instants), and due work with effects (alerts, offline logs,
        webhooks, retries) runs on the background tick and when the clock is moved through
        the control plane."""
        sql = self.store.observe_statement()

        def read(conn: Connection):
            # every request runs this: straight to the driver
            row = _ClockRow(*conn.connection.driver_connection.execute(sql).fetchone())
            version = self.store.version_key(conn, row.version)
            return version, self.store.config_key(conn, row.version, row.config), row

        version, config, row = self.store.query(read)
        state = state_from_row(row)
        return state, version, config

    def __init__(self, store, emulator=None) -> None:
        self.store = store
        self.emulator = emulator  # the owning emulator, handed to every handler
        self._handlers: dict[str, JobKind] = {}
        self._local = threading.local()
        self._outage_at = -CLAIM_SECONDS  # monotonic time of the last outage this runner met

    def register(self, job_kind: JobKind) -> None:
        """Make ``job_kind`` runnable here (the server assembly does it per vendor)."""
        self._handlers[job_kind.kind] = job_kind

    def _keep_recurring(self, now_us: int) -> None:
        """Each recurring kind has its pending job, due within its period (a clock set back
        would leave it far ahead): one read when they all do."""
        every = {kind: h.every for kind, h in self._handlers.items() if h.every is not None}
        if not every:
            return
        jobs = schema.jobs.c
        read = select(jobs.key, jobs.due_us).where(jobs.key.in_(list(every)))
        due = dict(self.store.query(lambda conn: conn.execute(read).all()))
        late = [k for k in every if k not in due or due[k] > now_us + every[k] * 1_000_000]
        if late:
            self.store.transact(lambda conn: [_due_now(conn, kind, now_us) for kind in late])

    def _kinds(self, background: bool) -> list[str]:
        return [kind for kind, h in self._handlers.items() if background or not h.background]

    def _claimable(self, until_us: int, kinds: list[str]):
        jobs = schema.jobs.c
        return and_(
            jobs.due_us <= until_us,
            jobs.kind.in_(kinds),
            or_(jobs.lease_until.is_(None), jobs.lease_until < wall_seconds() - self._grace()),
        )

    def outage_seen(self) -> None:
        """The database could not be reached just now (the tick's own failure)."""
        self._outage_at = time.monotonic()

    def _grace(self) -> float:
        """Right after an outage, a lapsed claim is left to its holder a while longer: it
        may hold a sent webhook whose result it records as soon as the database answers
        (``_until_reachable``), and that runner retries faster than any tick."""
        return CLAIM_SECONDS if time.monotonic() - self._outage_at < CLAIM_SECONDS else 0.0

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
            if background:
                self._keep_recurring(until_us)
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

    def settle(self, until_us: int, timeout: float | None = None) -> int:
        """Run the request-path work due by ``until_us``, then wait at most ``timeout``
        seconds (``SETTLE_SECONDS``) for what other workers hold (a clock advance answers
        once every such job has been applied, whichever process claimed it, or once the
        bound is reached: ``still_due`` then says what is left, e.g. a job that failed and
        waits for its next try)."""
        done = self.run_due(until_us)
        deadline = wall_seconds() + (SETTLE_SECONDS if timeout is None else timeout)
        waiting = self._still_due_query(until_us).limit(1)
        while wall_seconds() < deadline:
            if self.store.query(lambda conn: conn.execute(waiting).first()) is None:
                break
            time.sleep(0.005)
            done += self.run_due(until_us)  # a lease that lapsed (crashed holder) is ours
        return done

    def still_due(self, until_us: int, limit: int = 100) -> list[dict[str, Any]]:
        """The request-path jobs due by ``until_us`` not yet applied (held by another
        worker, or failed and waiting for their next try), in due-time order."""
        query = self._still_due_query(until_us).limit(limit)
        jobs = schema.jobs.c
        query = query.with_only_columns(jobs.kind, jobs.due_us, jobs.attempts, jobs.lease_until)
        rows = self.store.query(lambda conn: conn.execute(query).all())
        now = wall_seconds()
        return [
            {
                "kind": row.kind,
                "due_us": row.due_us,
                "attempts": row.attempts,
                "held": row.lease_until is not None and row.lease_until >= now,
            }
            for row in rows
        ]

    def _still_due_query(self, until_us: int):
        jobs = schema.jobs.c
        return (
            select(jobs.id)
            .where(jobs.due_us <= until_us, jobs.kind.in_(self._kinds(False)))
            .order_by(jobs.due_us, jobs.id)
        )

    @staticmethod
    def release_leases(conn: Connection) -> int:
        """Forget every claim: at start-up no worker runs yet, so a lease can only be a
        crashed process's; its work is due again at once instead of after the lease."""
        return conn.execute(
            update(schema.jobs)
            .where(schema.jobs.c.lease_until.is_not(None))
            .values(lease_until=None)
        ).rowcount

    def _due_by(self, conn: Connection, until_us: int) -> int:
        """``until_us``, or the clock's reading in the claiming transaction when that is
        earlier: a runner's reading may predate a clock set back (a seed, ``set``) while it
        worked, and a job due in the emulated future must not run early."""
        return min(until_us, self.emulator.clock.now_us(conn))

    def _claim(self, conn: Connection, until_us: int, background: bool):
        kinds = self._kinds(background)
        until_us = self._due_by(conn, until_us)
        rows = conn.execute(
            select(schema.jobs)
            .where(self._claimable(until_us, kinds))
            .order_by(schema.jobs.c.due_us, schema.jobs.c.id)
            .limit(BATCH)
        ).all()
        lease = _new_lease(LEASE_SECONDS)
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
        """Claim one due job with ``FOR UPDATE SKIP LOCKED`` and apply and delete it in that
        one transaction. Hosts racing for work skip each other's rows instead of waiting; a
        host that dies mid-job loses its connection, PostgreSQL rolls the transaction back
        and the row is free for the next runner at once (no lease to expire). A job with a
        ``prepare`` step is only claimed there (its lease set and committed): it is
        prepared outside any transaction, then recorded (``_run_claimed``)."""
        done = 0
        while done < limit:
            ran = self.store.transact(lambda conn: self._run_one_locked(conn, until_us, background))
            if not ran:
                break
            if isinstance(ran, tuple):
                self._run_claimed(*ran)
            done += 1
        return done

    def _run_one_locked(
        self, conn: Connection, until_us: int, background: bool
    ) -> bool | tuple[Job, float]:
        until_us = self._due_by(conn, until_us)
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
        handler = self._handlers[job.kind]  # only registered kinds are ever claimed
        if handler.prepare is not None:
            lease = _new_lease()
            conn.execute(
                update(schema.jobs).where(schema.jobs.c.id == job.id).values(lease_until=lease)
            )
            return job, lease
        conn.execute(delete(schema.jobs).where(schema.jobs.c.id == job.id))
        try:
            with conn.begin_nested():
                handler.apply(self.emulator, conn, job, None)
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
        if handler.prepare is None:
            self._record(job, lambda: {lease}, None)
            return
        # the batch's lease becomes this job's own claim, unless another runner took it over
        claim = self.store.transact(lambda conn: _renew(conn, job.id, lease))
        if claim is not None:
            self._run_claimed(job, claim)

    # -- a claimed job: prepared outside any transaction, then recorded ----------------------

    def _run_claimed(self, job: Job, lease: float) -> None:
        """``prepare`` with no transaction open, then apply; the claim renewed meanwhile,
        until the result is recorded (a record tried again after a serialization failure
        may take longer than a lease: the claim must outlive every try)."""
        handler = self._handlers[job.kind]
        renewal = _Renewal(self.store, job.id, lease)
        try:
            prepared = handler.prepare(self.emulator, job)
        except Exception:  # a broken job must not take the runner with it
            log.exception("job %s (%s) failed", job.id, job.kind)
            renewal.stop()
            self.store.transact(lambda conn: self._release(conn, job, renewal.mine()))
            return
        try:
            self._record(job, renewal.mine, prepared)
        finally:
            renewal.stop()

    def _record(self, job: Job, mine: Callable[[], set[float]], prepared: Any) -> None:
        """Delete the job and apply it in one write transaction, if the claim still holds
        (``mine``: every lease this runner wrote on it, see ``_Renewal.mine``)."""
        handler = self._handlers[job.kind]

        def work(conn: Connection) -> None:
            if self._finish(conn, job, mine):
                handler.apply(self.emulator, conn, job, prepared)
            else:
                log.warning("job %s (%s): claim lost, result dropped", job.id, job.kind)

        try:
            self._until_reachable(lambda: self.store.transact(work), prepared is not None)
        except Exception:  # a broken job must not take the request with it
            log.exception("job %s (%s) failed", job.id, job.kind)
            self.store.transact(lambda conn: self._release(conn, job, mine()))

    def _until_reachable(self, record: Callable[[], None], effects: bool) -> None:
        """Record a prepared result (a webhook already sent), waiting out a database
        outage: given up, its job would run, and be sent, again. Its claim is matched, not
        timed, when recording, so after an outage of any length the result is recorded
        once, unless another runner took the job over meanwhile (a host cut off for
        longer than ``CLAIM_SECONDS`` while the others could reach the database)."""
        deadline = time.monotonic() + RECORD_PATIENCE
        while True:
            try:
                return record()
            except Exception as error:
                if not effects or outages.classify(error) is None:
                    raise
                if time.monotonic() > deadline:
                    raise
                self._outage_at = time.monotonic()
                outages.note(outages.UNAVAILABLE, error, "due work (recording a result)")
            time.sleep(RECORD_RETRY)

    @staticmethod
    def _finish(conn: Connection, job: Job, mine: Callable[[], set[float]]) -> bool:
        """Delete the job if this runner still holds it; False if another took it over.
        Its lease is read first (locked), then matched against the runner's own: a lease
        is unique to its runner, and a renewal names its lease among them before it
        writes it, so one committed before this read is known by then."""
        jobs = schema.jobs.c
        lease = conn.execute(
            select(jobs.lease_until).where(jobs.id == job.id).with_for_update()
        ).scalar()
        if lease is None or lease not in mine():
            return False
        conn.execute(delete(schema.jobs).where(jobs.id == job.id))
        return True

    @staticmethod
    def _release(conn: Connection, job: Job, leases: set[float]) -> None:
        """Give a failed job back for a later try; after ``MAX_ATTEMPTS`` it is dropped."""
        jobs = schema.jobs.c
        if job.attempts + 1 >= MAX_ATTEMPTS:
            log.error("job %s (%s) dropped after %s attempts", job.id, job.kind, MAX_ATTEMPTS)
            conn.execute(
                delete(schema.jobs).where(and_(jobs.id == job.id, jobs.lease_until.in_(leases)))
            )
            return
        conn.execute(
            update(schema.jobs)
            .where(and_(jobs.id == job.id, jobs.lease_until.in_(leases)))
            .values(lease_until=wall_seconds() + 5 * (job.attempts + 1), attempts=job.attempts + 1)
        )


def _new_lease(seconds: float | None = None) -> float:
    """A lease end, unique to its runner (the jitter), so that a runner recognises its own."""
    return wall_seconds() + (CLAIM_SECONDS if seconds is None else seconds) + random.random() / 1000


def _renew(conn: Connection, job_id: int, lease: float, renewed: float | None = None):
    """Extend the claim ``lease`` on a job (to ``renewed``, else a new lease); None if the
    job is gone or another runner's."""
    jobs = schema.jobs.c
    renewed = _new_lease() if renewed is None else renewed
    result = conn.execute(
        update(schema.jobs)
        .where(and_(jobs.id == job_id, jobs.lease_until == lease))
        .values(lease_until=renewed)
    )
    return renewed if result.rowcount == 1 else None


class _Renewal:
    """Keeps a claim alive while its runner works outside any transaction: every
    ``CLAIM_SECONDS / 5`` a short transaction pushes the lease on. A live runner thus
    never loses a job to another; a dead one stops renewing and its job is taken over."""

    def __init__(self, store, job_id: int, lease: float) -> None:
        self.store, self.job_id, self.lease = store, job_id, lease
        self._written = {lease}  # every lease this runner wrote, or is writing, on the job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="mockserver-claim", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(CLAIM_SECONDS / 5):
            upcoming = _new_lease()
            self._written.add(upcoming)  # named before it can commit
            try:
                renewed = self.store.transact(
                    lambda conn, upcoming=upcoming: _renew(conn, self.job_id, self.lease, upcoming)
                )
            except Exception as error:  # a busy moment: the next round tries again
                outage = outages.classify(error)
                if outage is None:
                    log.exception("renewing the claim on job %s failed", self.job_id)
                else:
                    outages.note(outage, error, f"renewing the claim on job {self.job_id}")
                continue
            if renewed is None:
                return  # gone (recorded, cancelled, replaced) or lost
            self.lease = renewed

    def mine(self) -> set[float]:
        """Every lease this runner wrote (or is writing) on the job: the row showing any
        of them is still this runner's."""
        return set(self._written)

    def stop(self) -> float:
        """Stop renewing; the claim's current lease."""
        self._stop.set()
        self._thread.join()
        return self.lease
