"""The due work not yet run: how many jobs are due on the emulator's clock, and how late
the oldest is (the lag). Read through the jobs' due-time index: a range of due jobs, never
the whole table."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, func, select

from . import schema

_JOBS = schema.jobs.c


class Backlog(NamedTuple):
    due: int  # jobs due now or earlier
    lag_seconds: float  # emulator seconds since the oldest of them fell due (0: none)


def backlog(conn: Connection, now_us: int) -> Backlog:
    due, oldest_us = conn.execute(
        select(func.count(), func.min(_JOBS.due_us)).where(_JOBS.due_us <= now_us)
    ).one()
    return Backlog(due, (now_us - oldest_us) / 1_000_000 if oldest_us is not None else 0.0)
