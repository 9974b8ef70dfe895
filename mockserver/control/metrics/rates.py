"""The dashboard's rates over time: the last 15 minutes of uploads per second by outcome,
the vendor APIs' p50/p99 latency and the due work's lag, one point per interval of the
tally (``core.tally.INTERVAL_US`` of wall time), read from the interval rows every
worker writes to."""

from __future__ import annotations

from dataclasses import dataclass

from ...core import tally
from ...core.clock import wall_us
from ...core.emulator import Emulator
from .layer import BUCKETS

WINDOW_US = 15 * 60 * 1_000_000
OUTCOMES = ("accepted", "throttled", "window", "invalid", "denied", "fault", "error")


@dataclass(frozen=True)
class Point:
    start_us: int  # the interval's start (wall time)
    uploads: dict[str, float]  # outcome -> uploads per second
    p50_ms: float | None  # None: no request in the interval
    p99_ms: float | None
    lag_seconds: float


def recent(emulator: Emulator, now_us: int | None = None) -> list[Point]:
    """One point per interval of the last 15 minutes, oldest first (the current one last)."""
    now_us = wall_us() if now_us is None else now_us
    last = tally.interval_start(now_us)
    first = last - WINDOW_US + tally.INTERVAL_US
    emulator.tally.flush()  # this process's own counts first
    found = emulator.journal_store.query(
        lambda conn: tally.intervals(conn, ("uploads", "latency", "due_lag"), first)
    )
    seconds = tally.INTERVAL_US / 1_000_000
    points = []
    for start in range(first, last + 1, tally.INTERVAL_US):
        uploads: dict[str, float] = {}
        for (_vendor, outcome), count in found["uploads"].get(start, {}).items():
            uploads[outcome] = uploads.get(outcome, 0.0) + count / seconds
        buckets = {bound: count for (bound,), count in found["latency"].get(start, {}).items()}
        lag = found["due_lag"].get(start, {}).get((), 0.0)
        points.append(Point(start, uploads, quantile(buckets, 0.5), quantile(buckets, 0.99), lag))
    return points


def quantile(buckets: dict[str, float], q: float) -> float | None:
    """The ``q`` quantile in milliseconds, interpolated inside its bucket as Prometheus'
    ``histogram_quantile`` does (past the last bound: that bound)."""
    total = sum(buckets.values())
    if total <= 0:
        return None
    rank, below, lower = q * total, 0.0, 0.0
    for bound in BUCKETS:
        count = buckets.get(repr(bound), 0.0)
        if below + count >= rank and count > 0:
            return (lower + (bound - lower) * (rank - below) / count) * 1000
        below += count
        lower = bound
    return BUCKETS[-1] * 1000
