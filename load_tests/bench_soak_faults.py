"""Soak: the time-scaled camera fleet for a long run, watching for slow leaks.

    .venv/bin/python -m load_tests.bench_soak_faults                 # 30 minutes, SQLite
    .venv/bin/python -m load_tests.bench_soak_faults --minutes 3 --postgres

One ``mockserver serve`` (``--workers``; on ``--postgres`` its own throw-away server, durable)
takes the fleet profile (``fleet.py --emulator --time-scale 90``) from Locust for the whole
run. Every ``--interval`` seconds the bench samples each worker process: its RSS, its open
file descriptors (``/proc/<pid>/fd``), and, on PostgreSQL, the emulator's connections
(``pg_stat_activity``); Locust's ``_stats_history.csv`` gives the p99 of each window.

The verdict, after a warm-up (the first fifth of the run, at least 90 s): each worker's RSS within 10 % of
its post-warm-up level, file descriptors and connections flat (no growth beyond a small
allowance), and the p99 of the last quarter no more than 1.5x that of the first quarter
after warm-up. A run that fails prints which of them did not hold.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import psutil
import psycopg

from mockserver.testkit.plugin import LiveServer

from .bench_common import TOKEN, camera_seed, log
from .control import Control

RSS_TOLERANCE = 0.10
FD_ALLOWANCE = 8  # descriptors a worker may open beyond its post-warm-up level (pools)
P99_GROWTH = 1.5
#: at least this long is warm-up: every camera has uploaded a few times, pools are full
WARM_UP = 90.0


@dataclass
class Sample:
    at: float
    rss: dict[int, int] = field(default_factory=dict)  # worker pid -> bytes
    fds: dict[int, int] = field(default_factory=dict)  # worker pid -> open descriptors
    connections: int | None = None


def workers_of(root: int) -> list[psutil.Process]:
    """The server's worker processes (granian's children), else the server itself."""
    process = psutil.Process(root)
    children = [child for child in process.children(recursive=True) if "python" in child.name()]
    return children or [process]


def sample(root: int, started: float, database_url: str | None) -> Sample:
    taken = Sample(time.monotonic() - started)
    for process in workers_of(root):
        try:
            taken.rss[process.pid] = process.memory_info().rss
            taken.fds[process.pid] = len(os.listdir(f"/proc/{process.pid}/fd"))
        except (psutil.Error, OSError):
            continue
    if database_url:
        with psycopg.connect(database_url, autocommit=True) as conn:
            taken.connections = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'mockserver-%'"
            ).fetchone()[0]
    return taken


def p99_windows(history_csv: str) -> list[tuple[float, float]]:
    """(seconds since the first row, p99 ms) of Locust's aggregated history rows."""
    if not os.path.exists(history_csv):
        return []
    rows = []
    with open(history_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") != "Aggregated" or row.get("99%") in (None, "", "N/A", "0"):
                continue
            rows.append((float(row["Timestamp"]), float(row["99%"])))
    if not rows:
        return []
    first = rows[0][0]
    return [(stamp - first, p99) for stamp, p99 in rows]


def verdict(samples: list[Sample], p99s: list[tuple[float, float]], seconds: float) -> list[str]:
    warm = max(seconds / 5, WARM_UP)
    settled = [s for s in samples if s.at >= warm]
    problems = []
    if len(settled) < 2:
        return ["too few samples after warm-up (a longer run, or a shorter --interval)"]
    for pid in settled[0].rss:
        rss = [s.rss[pid] for s in settled if pid in s.rss]
        base = rss[0]
        if max(rss) > base * (1 + RSS_TOLERANCE) or min(rss) < base * (1 - RSS_TOLERANCE):
            problems.append(
                f"worker {pid}: RSS {base >> 20} -> {min(rss) >> 20}..{max(rss) >> 20} MiB"
            )
        fds = [s.fds[pid] for s in settled if pid in s.fds]
        if max(fds) > fds[0] + FD_ALLOWANCE:
            problems.append(f"worker {pid}: file descriptors {fds[0]} -> {max(fds)}")
    connections = [s.connections for s in settled if s.connections is not None]
    if connections and max(connections) > connections[0] + FD_ALLOWANCE:
        problems.append(f"database connections {connections[0]} -> {max(connections)}")
    late = [p for at, p in p99s if at >= warm]
    if len(late) >= 8:
        quarter = max(2, len(late) // 4)
        first, last = statistics.median(late[:quarter]), statistics.median(late[-quarter:])
        if last > first * P99_GROWTH:
            problems.append(f"p99 grew: {first:.0f} ms -> {last:.0f} ms")
    return problems


def table(samples: list[Sample], p99s: list[tuple[float, float]]) -> list[str]:
    lines = ["  t (s) | RSS per worker (MiB) | fds per worker | db conns | p99 (ms)"]
    for taken in samples:
        window = [p for at, p in p99s if taken.at - 30 <= at <= taken.at]
        p99 = f"{max(window):.0f}" if window else "-"
        rss = " ".join(f"{value >> 20}" for value in taken.rss.values())
        fds = " ".join(str(value) for value in taken.fds.values())
        conns = "-" if taken.connections is None else str(taken.connections)
        lines.append(f"  {taken.at:5.0f} | {rss:20} | {fds:14} | {conns:8} | {p99}")
    return lines


def run(args) -> int:
    own_pg, database_url, extra = None, None, []
    if args.postgres:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from tests.postgres_server import ThrowawayPostgres

        own_pg = ThrowawayPostgres(durable=True)
        database_url = own_pg.database()
        extra = ["--database", database_url]
    reports = tempfile.mkdtemp(prefix="bench-soak-")
    seconds = args.minutes * 60
    try:
        with LiveServer(workers=args.workers, seed="none", extra_args=extra) as server:
            Control(server.url).seed(camera_seed(0))
            locust = os.path.join(os.path.dirname(sys.executable), "locust")
            command = [
                locust, "-f", "load_tests/fleet.py", "--host", server.url, "--token", TOKEN,
                "--emulator", "--time-scale", "90", "--headless", "-u", str(args.users),
                "-r", str(args.users), "-t", f"{int(seconds)}s", "--only-summary",
                "--csv", os.path.join(reports, "soak"), "--csv-full-history",
            ]  # fmt: skip
            log(f"soak: {args.minutes:g} min, {args.users} cameras, {args.workers} workers, "
                f"{'PostgreSQL' if database_url else 'SQLite'}; reports in {reports}")  # fmt: skip
            started = time.monotonic()
            locust_run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            samples = []
            while locust_run.poll() is None:
                taken = sample(server.process.pid, started, database_url)
                if locust_run.poll() is not None:
                    break  # the load has stopped: its connections are closing
                samples.append(taken)
                log(table(samples[-1:], [])[1])
                deadline = time.monotonic() + args.interval
                while time.monotonic() < deadline and locust_run.poll() is None:
                    time.sleep(0.5)
            output = locust_run.stdout.read().decode(errors="replace")
    finally:
        if own_pg is not None:
            own_pg.stop()
    p99s = p99_windows(os.path.join(reports, "soak_stats_history.csv"))
    print("\n".join(table(samples, p99s)))
    summary = [line for line in output.splitlines() if "Aggregated" in line]
    print("\n".join(summary[-2:]))
    problems = verdict(samples, p99s, seconds)
    print(
        "verdict: " + ("flat (RSS, fds, connections, p99)" if not problems else "; ".join(problems))
    )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--users", type=int, default=100, help="cameras of the fleet")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL server")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
