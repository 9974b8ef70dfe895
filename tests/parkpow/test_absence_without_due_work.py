"""Requests run no due work: a visit whose absence fell due reads as closed, and the
plate's next sighting opens a new visit, before any job has recorded the closing."""

from __future__ import annotations

from sqlalchemy import select

from mockserver.core.timefmt import parse_instant
from mockserver.parkpow import schema

from .parkpow_support import START_NAIVE, advance, log_json, seed, visits


def _move_clock_without_running_jobs(app, instant: str) -> None:
    emulator = app.extensions["mockserver"]
    emulator.store.transact(lambda conn: emulator.clock.freeze_at(conn, parse_instant(instant)))


def _open_rows(app) -> int:
    emulator = app.extensions["mockserver"]
    visits_table = schema.pp_visits.c
    query = select(visits_table.id).where(visits_table.open == True)  # noqa: E712
    return len(emulator.store.query(lambda conn: conn.execute(query).all()))


def test_absence_is_read_before_its_job_runs(app, client):
    seed(client)
    log_json(client, "101", ["ABC123"])
    _move_clock_without_running_jobs(app, "2026-04-10T14:33:00Z")  # the 3-minute timer
    (visit,) = visits(client)
    assert visit["end_date"] == START_NAIVE and visit["duration"] == 0.0
    assert _open_rows(app) == 1  # nobody ran the job: the read shows it by reading
    log_json(client, "101", ["ABC123"])  # its own lapsed visit is closed first
    assert [v["end_date"] for v in visits(client)] == ["None", START_NAIVE]
    advance(client, 0)  # the job finds nothing left to do
    assert [v["end_date"] for v in visits(client)] == ["None", START_NAIVE]
