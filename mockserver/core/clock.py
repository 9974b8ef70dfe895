"""The emulator clock: the only place that reads the system time.

Its state lives in the store (one row), so every worker process agrees on "now":
``frozen_us`` set means the clock stands still at that instant; otherwise now is the wall
time plus ``offset_us`` (zero: real time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, select

from . import schema


def seconds_to_us(seconds: float) -> int:
    """A duration in seconds (a setting, an advance) as the store's microseconds."""
    return int(round(float(seconds) * 1_000_000))


def wall_us() -> int:
    return time.time_ns() // 1000


def wall_seconds() -> float:
    """Wall time for leases and timeouts: never a time the emulated world sees."""
    return time.time()


@dataclass(frozen=True)
class ClockState:
    now_us: int
    frozen: bool


_STATE = select(schema.clock.c.frozen_us, schema.clock.c.offset_us).where(schema.clock.c.id == 1)


def state_from_row(row) -> ClockState:
    """The clock's reading from its stored row (``None``: never set, real time)."""
    if row is None or (row.frozen_us is None and row.offset_us is None):
        return ClockState(wall_us(), False)
    if row.frozen_us is not None:
        return ClockState(row.frozen_us, True)
    return ClockState(wall_us() + row.offset_us, False)


class Clock:
    def __init__(self, store) -> None:
        self.store = store

    def state(self, conn: Connection | None = None) -> ClockState:
        if conn is None:
            return self.store.query(self.state)
        return state_from_row(conn.execute(_STATE).first())

    def now_us(self, conn: Connection | None = None) -> int:
        return self.state(conn).now_us

    def freeze_at(self, conn: Connection, instant_us: int) -> None:
        self._save(conn, frozen_us=instant_us, offset_us=0)

    def advance(self, conn: Connection, seconds: float) -> int:
        current = self.state(conn)
        delta = seconds_to_us(seconds)
        if current.frozen:
            self._save(conn, frozen_us=current.now_us + delta, offset_us=0)
        else:
            offset = current.now_us - wall_us()
            self._save(conn, frozen_us=None, offset_us=offset + delta)
        return current.now_us + delta

    def real(self, conn: Connection) -> None:
        self._save(conn, frozen_us=None, offset_us=0)

    def _save(self, conn: Connection, *, frozen_us: int | None, offset_us: int) -> None:
        updated = conn.execute(
            schema.clock.update()
            .where(schema.clock.c.id == 1)
            .values(frozen_us=frozen_us, offset_us=offset_us)
        )
        if updated.rowcount == 0:
            conn.execute(
                schema.clock.insert().values(id=1, frozen_us=frozen_us, offset_us=offset_us)
            )
