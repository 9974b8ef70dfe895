"""Counts of what happened in the world, summed over every worker process and host.

A count is kept in this process's memory and written to the side store (the journal's:
its writes neither queue behind the world's writers nor change the world's data version)
by a background thread, at most ``FLUSH_SECONDS`` after it was made, in one transaction
that adds this process's deltas to shared rows (``metric_counts``). So a request pays a
dictionary update, never a write, and every worker of every host reads one total.

Counts may also be kept per interval of wall time (``metric_intervals``, the last
``KEEP_SECONDS``), for rates over time: throughput and latency are real-time figures,
like the journal's wall times, whatever the emulator's clock says.

What happens inside a world transaction is noted with ``note(conn, ...)`` and counted
only once that transaction committed (a retried or refused transaction counts nothing).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, event, func, select

from . import schema
from .clock import wall_us
from .dialect import INSERTS

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.2  # longest a count waits in memory before it is written
SETTLE_SECONDS = 2 * FLUSH_SECONDS  # a reader's wait for the other processes' writers
INTERVAL_US = 10_000_000  # the width of one interval of the rates (wall time)
KEEP_SECONDS = 20 * 60  # intervals older than this are removed

Series = tuple[str, tuple[str, ...]]  # (name, label values)

_COUNTS = schema.metric_counts.c
_INTERVALS = schema.metric_intervals.c


def _adding(table, key: list[str]) -> dict:
    """``INSERT ... ON CONFLICT DO UPDATE SET value = value + excluded.value`` per dialect."""
    built = {}
    for name, build in INSERTS.items():
        statement = build(table)
        built[name] = statement.on_conflict_do_update(
            index_elements=key, set_={"value": table.c.value + statement.excluded.value}
        )
    return built


_ADD_TO_COUNT = _adding(schema.metric_counts, ["name", "labels"])
_ADD_TO_INTERVAL = _adding(schema.metric_intervals, ["start_us", "name", "labels"])


def _peaking(table, key: list[str]) -> dict:
    """The same, keeping the larger value (a sampled gauge: its peak in the interval)."""
    built = {}
    for name, build in INSERTS.items():
        statement = build(table)
        larger = (
            func.greatest(table.c.value, statement.excluded.value)
            if name == "postgresql"
            else func.max(table.c.value, statement.excluded.value)
        )
        built[name] = statement.on_conflict_do_update(index_elements=key, set_={"value": larger})
    return built


_RAISE_INTERVAL = _peaking(schema.metric_intervals, ["start_us", "name", "labels"])


def interval_start(at_us: int) -> int:
    return at_us - at_us % INTERVAL_US


class Tally:
    """This process's counts not yet written, and the thread that writes them."""

    def __init__(self, side_store, world_store=None) -> None:
        self.store = side_store
        self._lock = threading.Lock()
        self._counts: dict[Series, float] = defaultdict(float)
        self._intervals: dict[tuple[int, str, tuple[str, ...]], float] = defaultdict(float)
        self._peaks: dict[tuple[int, str, tuple[str, ...]], float] = {}
        self._pending = threading.local()  # notes of the world transaction under way
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._trimmed_at = 0
        if world_store is not None:
            world_store.write_listeners.append(self._committed)
            event.listen(world_store.engine, "rollback", self._rolled_back)

    # -- counting -------------------------------------------------------------------------

    def add(self, name: str, labels: tuple[str, ...] = (), amount: float = 1, rate=False):
        """Count ``amount`` now; ``rate``: also in the current interval (rates over time)."""
        with self._lock:
            self._counts[(name, labels)] += amount
            if rate:
                self._intervals[(interval_start(wall_us()), name, labels)] += amount
        self._started()

    def add_all(self, counts: list[tuple[str, tuple[str, ...], float, bool]]) -> None:
        """Several ``add``s at once (one lock, one clock reading): a request's counts."""
        start = interval_start(wall_us())
        with self._lock:
            for name, labels, amount, rate in counts:
                self._counts[(name, labels)] += amount
                if rate:
                    self._intervals[(start, name, labels)] += amount
        self._started()

    def peak(self, name: str, labels: tuple[str, ...], value: float) -> None:
        """A sampled gauge in the current interval: its highest value is kept."""
        key = (interval_start(wall_us()), name, labels)
        with self._lock:
            if value > self._peaks.get(key, float("-inf")):
                self._peaks[key] = value
        self._started()

    def note(self, conn: Connection, name: str, labels: tuple[str, ...] = ()) -> None:
        """Count one, inside a world transaction: counted once it committed."""
        pending = getattr(self._pending, "notes", None)
        if pending is None or pending[0] is not conn:
            pending = self._pending.notes = (conn, [])
        pending[1].append((name, labels))

    def _committed(self) -> None:
        pending = getattr(self._pending, "notes", None)
        if pending is None:
            return
        self._pending.notes = None
        for name, labels in pending[1]:
            self.add(name, labels)

    def _rolled_back(self, conn: Connection) -> None:
        pending = getattr(self._pending, "notes", None)
        if pending is not None and pending[0] is conn:
            self._pending.notes = None

    # -- writing --------------------------------------------------------------------------

    def settle(self) -> None:
        """Before a read of the totals: this process's counts written now, and time for every
        other process's writer to take its turn (each writes within ``FLUSH_SECONDS``), so
        the read sees every count made before it."""
        self.flush()
        time.sleep(SETTLE_SECONDS)

    def _started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="mockserver-tally", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # a busy or reset moment: the counts wait for the next turn
                log.exception("writing the metrics failed")

    def flush(self) -> None:
        """Write this process's counts now (a reader first writes its own)."""
        with self._lock:
            counts, self._counts = self._counts, defaultdict(float)
            intervals, self._intervals = self._intervals, defaultdict(float)
            peaks, self._peaks = self._peaks, {}
        if not (counts or intervals or peaks):
            return
        now_us = wall_us()
        trim = now_us - self._trimmed_at > 60_000_000
        try:
            self.store.transact(lambda conn: self._write(conn, counts, intervals, peaks, trim))
        except Exception:
            self._restore(counts, intervals, peaks)
            raise
        if trim:
            self._trimmed_at = now_us

    def _write(self, conn, counts, intervals, peaks, trim: bool) -> None:
        dialect = conn.dialect.name
        if counts:
            conn.execute(
                _ADD_TO_COUNT[dialect],
                [_row(name, labels, value) for (name, labels), value in sorted(counts.items())],
            )
        if intervals:
            rows = [
                {"start_us": start, **_row(name, labels, value)}
                for (start, name, labels), value in sorted(intervals.items())
            ]
            conn.execute(_ADD_TO_INTERVAL[dialect], rows)
        if peaks:
            rows = [
                {"start_us": start, **_row(name, labels, value)}
                for (start, name, labels), value in sorted(peaks.items())
            ]
            conn.execute(_RAISE_INTERVAL[dialect], rows)
        if trim:
            cutoff = wall_us() - KEEP_SECONDS * 1_000_000
            conn.execute(schema.metric_intervals.delete().where(_INTERVALS.start_us < cutoff))

    def _restore(self, counts, intervals, peaks) -> None:
        with self._lock:
            for key, value in counts.items():
                self._counts[key] += value
            for key, value in intervals.items():
                self._intervals[key] += value
            for key, value in peaks.items():
                self._peaks[key] = max(value, self._peaks.get(key, value))

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.flush()
        except Exception:
            log.exception("writing the metrics at close failed")


def _row(name: str, labels: tuple[str, ...], value: float) -> dict:
    return {"name": name, "labels": json.dumps(list(labels)), "value": value}


# -- reading ------------------------------------------------------------------------------


def counts(conn: Connection, names: Iterable[str]) -> dict[str, dict[tuple[str, ...], float]]:
    """name -> label values -> total, for the named counts."""
    found: dict[str, dict[tuple[str, ...], float]] = {name: {} for name in names}
    query = select(_COUNTS.name, _COUNTS.labels, _COUNTS.value).where(_COUNTS.name.in_(list(found)))
    for row in conn.execute(query):
        found[row.name][tuple(json.loads(row.labels))] = row.value
    return found


def intervals(
    conn: Connection, names: Iterable[str], since_us: int
) -> dict[str, dict[int, dict[tuple[str, ...], float]]]:
    """name -> interval start -> label values -> value, for intervals from ``since_us``."""
    found: dict[str, dict[int, dict[tuple[str, ...], float]]] = {name: {} for name in names}
    query = select(_INTERVALS).where(
        _INTERVALS.name.in_(list(found)), _INTERVALS.start_us >= since_us
    )
    for row in conn.execute(query):
        found[row.name].setdefault(row.start_us, {})[tuple(json.loads(row.labels))] = row.value
    return found
