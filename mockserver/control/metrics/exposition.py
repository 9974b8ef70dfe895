"""The scrape: the tally's counts and the gauges of the moment, as Prometheus families.

Counts are read from one table (``metric_counts``: one row per series, whatever the
world's size); the gauges read small or indexed things (due jobs by their due-time index,
the journal's ring, the catalog's sizes), so a scrape costs the same at a million logs.
The media folder's size is a walk of the files on SQLite: it is taken at most once per
``SIZE_SECONDS`` per process.
"""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from sqlalchemy import func, select

from ...core import schema, tally
from ...core.backlog import backlog
from ...core.emulator import Emulator
from .layer import BUCKETS

PREFIX = "mockserver_"
SIZE_SECONDS = 60.0
COUNTS = (
    "requests",
    "request_duration_bucket",
    "request_duration_sum",
    "uploads",
    "logs",
    "alerts",
    "webhook_deliveries",
    "faults_hit",
)
_JOBS = schema.jobs.c


def scrape(emulator: Emulator) -> bytes:
    """The text exposition of everything ``/_mock/metrics`` shows."""
    emulator.tally.settle()  # every worker's counts of what happened before the scrape
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(emulator))
    return generate_latest(registry)


class _Families:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def collect(self):
        emulator = self.emulator
        counts = emulator.journal_store.query(lambda conn: tally.counts(conn, COUNTS))
        yield from _requests(counts)
        yield _counter(
            "uploads", "Uploads by what became of them.", ("vendor", "outcome"), counts["uploads"]
        )
        yield _counter("logs", "Logs written, by status.", ("vendor", "status"), counts["logs"])
        yield _counter("alerts", "Alerts raised.", ("vendor",), counts["alerts"])
        yield _counter(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome.",
            ("vendor", "outcome"),
            counts["webhook_deliveries"],
        )
        yield _counter(
            "faults_hit", "Injected faults met, by action.", ("kind",), counts["faults_hit"]
        )
        yield from _due_work(emulator)
        yield from _sizes(emulator)


def _counter(name: str, text: str, labels: tuple[str, ...], values: dict) -> CounterMetricFamily:
    family = CounterMetricFamily(PREFIX + name, text, labels=list(labels))
    for label_values, value in sorted(values.items()):
        family.add_metric(list(label_values), value)
    return family


def _requests(counts: dict):
    yield _counter(
        "requests",
        "Requests by vendor, route template, method and status.",
        ("vendor", "endpoint", "method", "status"),
        counts["requests"],
    )
    histogram = HistogramMetricFamily(
        PREFIX + "request_duration_seconds",
        "Time to answer a request, by vendor and route template.",
        labels=["vendor", "endpoint"],
    )
    by_route: dict[tuple[str, str], dict[str, float]] = {}
    for (vendor, endpoint, bound), value in counts["request_duration_bucket"].items():
        by_route.setdefault((vendor, endpoint), {})[bound] = value
    for route, buckets in sorted(by_route.items()):
        total, cumulative = 0.0, []
        for bound in (*map(repr, BUCKETS), "+Inf"):
            total += buckets.get(bound, 0.0)
            cumulative.append((bound, total))
        seconds = counts["request_duration_sum"].get(route, 0.0)
        histogram.add_metric(list(route), cumulative, seconds)
    yield histogram


def _due_work(emulator: Emulator):
    webhook_kinds = [kind for vendor in emulator.vendors for kind in vendor.metrics.webhook_kinds]
    owner = {kind: v.name for v in emulator.vendors for kind in v.metrics.webhook_kinds}

    def read(conn):
        due = backlog(conn, emulator.clock.now_us(conn))
        queued = conn.execute(
            select(_JOBS.kind, func.count())
            .where(_JOBS.kind.in_(webhook_kinds))
            .group_by(_JOBS.kind)
        ).all()
        return due, dict(queued)

    due, queued = emulator.store.query(read)
    yield GaugeMetricFamily(
        PREFIX + "due_work_backlog", "Jobs due on the emulator's clock, not yet run.", due.due
    )
    yield GaugeMetricFamily(
        PREFIX + "due_work_lag_seconds",
        "How long the oldest due job has been due (emulator seconds; 0: none).",
        due.lag_seconds,
    )
    depth = GaugeMetricFamily(
        PREFIX + "webhook_queue_depth", "Webhook deliveries waiting.", labels=["vendor"]
    )
    for vendor in sorted({owner[kind] for kind in webhook_kinds}):
        waiting = sum(queued.get(kind, 0) for kind in webhook_kinds if owner[kind] == vendor)
        depth.add_metric([vendor], waiting)
    yield depth


_sizes_cache: dict[int, tuple[float, int]] = {}
_sizes_lock = threading.Lock()


def _media_bytes(emulator: Emulator) -> int:
    """The media's size, taken again after ``SIZE_SECONDS`` (a folder walk on SQLite)."""
    key = id(emulator.media)
    with _sizes_lock:
        taken = _sizes_cache.get(key)
    if taken is None or time.monotonic() - taken[0] > SIZE_SECONDS:
        taken = (time.monotonic(), emulator.media.bytes_used())
        with _sizes_lock:
            _sizes_cache[key] = taken
    return taken[1]


def _sizes(emulator: Emulator):
    journal = emulator.journal_store.query(
        lambda conn: conn.execute(select(func.count()).select_from(schema.journal)).scalar_one()
    )
    yield GaugeMetricFamily(PREFIX + "journal_entries", "Entries in the request journal.", journal)
    stored = GaugeMetricFamily(
        PREFIX + "store_bytes", "Bytes of the world and of the journal.", labels=["part"]
    )
    stored.add_metric(["world"], emulator.store.bytes_used())
    stored.add_metric(["journal"], emulator.journal_store.bytes_used())
    yield stored
    yield GaugeMetricFamily(
        PREFIX + "media_bytes", "Bytes of stored images.", _media_bytes(emulator)
    )
