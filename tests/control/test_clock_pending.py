"""A clock move waits a short, bounded time for due work it cannot finish, and says what
is left (``pending``) instead of holding the call until that work is done."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from mockserver.core import duework, schema
from mockserver.core.clock import seconds_to_us, wall_seconds

from ..conftest import BOTH_BACKENDS

pytestmark = BOTH_BACKENDS

START = "2026-04-10T14:30:00Z"
BOUND = 10.0  # seconds: a correctness bound (the wait is about 2 s), not a measurement
FAILING = "test.always-fails"


def _always_fails(_emulator, _conn, _job, _prepared) -> None:
    raise RuntimeError("this job never succeeds")


@pytest.fixture
def world(app):
    """A clock frozen at START and a job due 60 s later that fails on every try."""
    client = app.test_client()
    emulator = app.extensions["mockserver"]
    emulator.duework.register(duework.JobKind(FAILING, _always_fails))
    assert client.post("/_mock/clock", json={"set": START}).status_code == 200
    due = emulator.now_us() + seconds_to_us(60)
    emulator.store.transact(lambda conn: duework.schedule(conn, FAILING, due, key="failing"))
    return client, emulator


def _timed_advance(client, seconds: float):
    started = time.monotonic()
    reply = client.post("/_mock/clock", json={"advance": seconds})
    return reply, time.monotonic() - started


def test_a_failing_job_does_not_hold_the_clock_call(world):
    client, _emulator = world
    reply, took = _timed_advance(client, 120)
    assert reply.status_code == 200, reply.json
    assert took < BOUND, f"the clock call took {took:.1f} s"
    assert reply.json["now"] == "2026-04-10T14:32:00Z"
    (left,) = reply.json["pending"]
    assert left["kind"] == FAILING and left["due"] == "2026-04-10T14:31:00Z"
    assert left["attempts"] >= 1 and left["held"] is True  # waiting for its next try
    # the job's retries still run on later moves (and it is dropped after its last try)
    assert client.post("/_mock/clock", json={"advance": 0}).json["pending"][0]["kind"] == FAILING


def test_a_job_held_by_another_worker_is_reported_not_waited_for(world):
    client, emulator = world
    held = update(schema.jobs).values(lease_until=wall_seconds() + 300)  # another worker's claim
    emulator.store.transact(lambda conn: conn.execute(held))
    reply, took = _timed_advance(client, 120)
    assert took < BOUND, f"the clock call took {took:.1f} s"
    (left,) = reply.json["pending"]
    assert (left["kind"], left["attempts"], left["held"]) == (FAILING, 0, True)


def test_nothing_pending_leaves_the_reply_as_it_was(world):
    client, emulator = world
    emulator.store.transact(lambda conn: duework.cancel(conn, "failing"))
    reply, _took = _timed_advance(client, 120)
    assert reply.json == {"now": "2026-04-10T14:32:00Z", "frozen": True}
