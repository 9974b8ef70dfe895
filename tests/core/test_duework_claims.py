"""A claimed job stays its runner's until its result is recorded: two runners (two hosts)
on one PostgreSQL world, one of them slow to record (its transaction waits for a busy
connection pool, or is tried again after a serialization failure)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from mockserver.core import duework
from mockserver.core.pgstore import PostgresStore

KIND = "test.slow"
LEASE = 0.5  # seconds: the claim's lease, shortened so the test stays short


class SlowToRecord:
    """A store whose next write transaction, on the thread that asks for it
    (``hold_next``), starts only after ``seconds``: every other thread goes straight
    through (the claim's renewal among them)."""

    def __init__(self, store: PostgresStore, seconds: float) -> None:
        self.store, self.seconds = store, seconds
        self.held: int | None = None

    def hold_next(self) -> None:
        self.held = threading.get_ident()

    def transact(self, work, row_locked: bool = False):
        if self.held == threading.get_ident():
            self.held = None
            time.sleep(self.seconds)
        return self.store.transact(work, row_locked)

    def __getattr__(self, name):
        return getattr(self.store, name)


def runner(store, name: str, seen: list) -> duework.DueWork:
    # the world's clock stands at 10 (what a tick reads in the claiming transaction)
    clock = SimpleNamespace(now_us=lambda conn=None: 10)
    emulator = SimpleNamespace(backend=SimpleNamespace(row_locks=True), clock=clock)
    work = duework.DueWork(store, emulator)

    def prepare(_emulator, _job):
        seen.append(("prepared", name))
        if isinstance(store, SlowToRecord):
            store.hold_next()  # the record of this result is slow to start
        return name

    def apply(_emulator, _conn, _job, prepared):
        seen.append(("applied", prepared))

    work.register(duework.JobKind(KIND, apply, prepare=prepare, background=True))
    return work


def test_a_slow_record_keeps_its_claim(postgres_server, monkeypatch):
    monkeypatch.setattr(duework, "CLAIM_SECONDS", LEASE)
    url = postgres_server.database()
    first_store, second_store = PostgresStore(url), PostgresStore(url)
    try:
        seen: list = []
        slow = SlowToRecord(first_store, LEASE * 3)
        first, second = runner(slow, "first", seen), runner(second_store, "second", seen)
        first_store.transact(lambda conn: duework.schedule(conn, KIND, 0))
        done, failed = threading.Event(), []

        def run_first() -> None:
            try:
                first.run_due(10, background=True)
            except BaseException as error:  # the test fails on it, never waits forever
                failed.append(error)
            finally:
                done.set()

        thread = threading.Thread(target=run_first)
        thread.start()
        while not seen and not done.is_set():  # the first host claims it
            time.sleep(0.005)
        deadline = time.monotonic() + 30
        while not done.is_set():  # the other host's tick, again and again meanwhile
            assert time.monotonic() < deadline, "the first runner never finished"
            second.run_due(10, background=True)
            time.sleep(0.02)
        thread.join()
        assert not failed, failed
        second.run_due(10, background=True)
        assert seen == [("prepared", "first"), ("applied", "first")]
        assert not first.pending(10, background=True)
    finally:
        first_store.dispose()
        second_store.dispose()
