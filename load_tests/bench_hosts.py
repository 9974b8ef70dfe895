"""A SQLite host and a PostgreSQL host side by side, under the same upload storm, in one run.

    python -m load_tests.bench_hosts                       # 30 s per host, 8 connections
    python -m load_tests.bench_hosts --duration 60 --database-media
    python -m load_tests.bench_hosts --database postgresql://user@db/postgres

The storm is ``bench_uploads_wrk``'s: ``wrk`` with ``wrk/uploads.lua``, closed loop, every
upload a new camera serial and distinct bytes of 1920x1080 natural photographs, throttle
off, against ``mockserver serve`` (its default workers). First a SQLite host (files under
its data directory), then a PostgreSQL host on a throw-away server with PostgreSQL's
durable defaults (fsync, synchronous commit) or on ``--database``, image bytes as local
files (``MOCKSERVER_MEDIA_URL=file:///dir``), so the database cost measured is the
store's; ``--database-media`` adds a run with the bytes in the database too.

The hosts run side by side and take turns (``--rounds``, 3): each storm hits one host
while the others idle, so a machine whose load drifts weighs on both alike. p50 is the
mean of the turns' p50s, p99 the worst turn's p99.

Printed per host: accepted/s, p50, p99, lost, duplicated (every acknowledged serial is
looked up after the clock moves an hour: exactly one log), CPU milliseconds per accepted
upload of the emulator's processes and of the PostgreSQL cluster's processes (``/proc``
through psutil: user + system, backends and background writers), and transactions per
upload. Then the arithmetic for 1,111 uploads/s. CPU per upload is a ratio, so it holds
on a busy machine; accepted/s compares within one run only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass

from mockserver.testkit.plugin import LiveServer

from .bench_common import TOKEN, default_workers, log
from .bench_postgres import Server, cpu_by_process, cpu_spent, database_counters
from .bench_uploads_wrk import WRK_HINT, _storm_wrk, seed, server_cpu_seconds, write_frames
from .control import Control
from .verify import Ledger, verify

FLEET_RATE = 1111
TARGETS = (
    "PostgreSQL host >= 0.8x the SQLite host's accepted/s; PostgreSQL CPU <= 1.5 ms/upload;"
    " SQLite host >= 150/s with p99 < 500 ms; 0 lost, 0 duplicated"
)


@dataclass
class HostRun:
    name: str
    seconds: float
    accepted: int
    p50_ms: float
    p99_ms: float
    statuses: dict
    errors: int
    lost: int
    duplicated: int
    emulator_ms: float
    database_ms: float | None = None
    commits: float | None = None
    rollbacks: float | None = None
    media_bytes: float = 0.0

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        text = (
            f"{self.name:>28}: {self.rate:6.1f} accepted/s, p50 {self.p50_ms:4.0f} ms, "
            f"p99 {self.p99_ms:5.0f} ms, {self.lost} lost, {self.duplicated} duplicated | "
            f"CPU per upload: emulator {self.emulator_ms:5.1f} ms"
        )
        if self.database_ms is not None:
            text += (
                f", PostgreSQL {self.database_ms:5.2f} ms | {self.commits:.1f} commits, "
                f"{self.rollbacks:.2f} rollbacks per upload"
            )
        return text + f" ({codes}; {self.errors} errors)"


class Host:
    """One running host: its storms' replies and CPU add up over the rounds."""

    def __init__(self, name: str, args, server: Server | None, env: dict) -> None:
        self.name, self.args, self.server = name, args, server
        self.url = server.database() if server is not None else None
        extra = ["--database", self.url] if self.url else []
        self.live = LiveServer(workers=args.workers, seed="none", extra_args=extra, env=env)
        self.database_roots: list[int] = []
        self.accepted: Counter = Counter()
        self.statuses: Counter = Counter()
        self.seconds = self.emulator_cpu = self.database_cpu = 0.0
        self.errors = self.commits = self.rollbacks = 0
        self.p50s: list[float] = []
        self.p99s: list[float] = []
        self.rounds = 0

    def start(self) -> Host:
        self.live.start(timeout=60)
        control = Control(self.live.url)
        control.seed(seed())
        control.real_time()
        if self.server is not None:
            self.database_roots = self.server.server_pids()[:1]
        return self

    def storm(self, frames: str, count: int, seconds: float) -> None:
        """One round of the storm against this host alone."""
        self.rounds += 1
        log(f"{self.name}: round {self.rounds}, {seconds:g} s")
        emulator_before = server_cpu_seconds(self.live.process.pid)
        database_before = cpu_by_process(self.database_roots)
        counters_before = database_counters(self.url) if self.url else (0, 0)
        tag = f"{self.name.split()[0]}{self.rounds}"
        upload_url = f"{self.live.url}/v1/vision-alert/create-log/"
        summary, accepted = _storm_wrk(
            upload_url, frames, count, seconds, self.args.connections, tag
        )
        self.emulator_cpu += server_cpu_seconds(self.live.process.pid) - emulator_before
        self.database_cpu += cpu_spent(self.database_roots, database_before)
        if self.url:
            commits, rollbacks = (
                after - before
                for after, before in zip(database_counters(self.url), counters_before, strict=True)
            )
            self.commits += commits
            self.rollbacks += rollbacks
        self.accepted.update(accepted)
        self.statuses.update(summary["statuses"])
        self.errors += sum(summary["errors"].values())
        self.seconds += summary["seconds"]
        self.p50s.append(summary["p50_ms"])
        self.p99s.append(summary["p99_ms"])

    def finish(self) -> HostRun:
        """Every acknowledged upload looked up (exactly one log), then the host stops."""
        try:
            Control(self.live.url).advance(3600)
            report = verify(self.live.url, TOKEN, Ledger(uploads=self.accepted), patience=60.0)
        finally:
            self.live.stop()
        total = sum(self.accepted.values())
        per = max(total, 1)
        measured_database = self.url is not None and bool(self.database_roots)
        return HostRun(
            name=self.name,
            seconds=self.seconds,
            accepted=total,
            p50_ms=sum(self.p50s) / max(len(self.p50s), 1),
            p99_ms=max(self.p99s, default=0.0),
            statuses=dict(self.statuses),
            errors=self.errors,
            lost=sum(report.lost_uploads.values()),
            duplicated=sum(report.duplicated_uploads.values()),
            emulator_ms=self.emulator_cpu * 1000 / per,
            database_ms=self.database_cpu * 1000 / per if measured_database else None,
            commits=self.commits / per if self.url else None,
            rollbacks=self.rollbacks / per if self.url else None,
        )


def arithmetic(runs: list[HostRun], frame_bytes: float) -> list[str]:
    """What 1,111 uploads/s costs at the measured CPU per upload."""
    lines = [f"at {FLEET_RATE:,} uploads/s (CPU per upload x rate; cores fully busy):"]
    for run in runs:
        text = f"  {run.name}: emulator {FLEET_RATE * run.emulator_ms / 1000:5.1f} cores"
        if run.database_ms is not None:
            text += f", PostgreSQL {FLEET_RATE * run.database_ms / 1000:5.1f} cores"
        text += f"; {FLEET_RATE * max(run.rate, 1e-9) ** -1:.1f} hosts like this one"
        lines.append(text)
    lines.append(
        f"  image bytes to the media store: {FLEET_RATE * frame_bytes / 1e6:.0f} MB/s "
        f"({frame_bytes / 1e3:.0f} KB per frame on average)"
    )
    return lines


def verdict(sqlite: HostRun, postgres: HostRun) -> list[str]:
    ratio = postgres.rate / sqlite.rate if sqlite.rate else 0.0
    checks = [
        (f"PostgreSQL/SQLite accepted/s {ratio:.2f} (>= 0.8)", ratio >= 0.8),
        (
            f"PostgreSQL CPU {postgres.database_ms or 0:.2f} ms/upload (<= 1.5)",
            postgres.database_ms is not None and postgres.database_ms <= 1.5,
        ),
        (f"SQLite {sqlite.rate:.0f}/s (>= 150)", sqlite.rate >= 150),
        (f"SQLite p99 {sqlite.p99_ms:.0f} ms (< 500)", sqlite.p99_ms < 500),
        (
            "0 lost, 0 duplicated",
            all(run.lost == 0 and run.duplicated == 0 for run in (sqlite, postgres)),
        ),
    ]
    return [f"  {'met' if ok else 'MISSED':>6}  {text}" for text, ok in checks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per host")
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns the hosts take (duration split over them)"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=default_workers(), help="per host")
    parser.add_argument("--database", default=None, help="admin URL of a PostgreSQL server")
    parser.add_argument(
        "--database-media", action="store_true", help="also a PostgreSQL host keeping bytes in it"
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print(WRK_HINT)
        return 2
    load_before = os.getloadavg()[0]
    frames = tempfile.mkdtemp(prefix="bench-hosts-")
    media = tempfile.mkdtemp(prefix="bench-hosts-media-")
    server = Server(args.database)
    try:
        count = write_frames(frames)
        sizes = [os.path.getsize(os.path.join(frames, f"frame-{i:03d}.jpg")) for i in range(count)]
        files = {"MOCKSERVER_MEDIA_URL": f"file://{media}"}
        hosts = [
            Host("SQLite host", args, None, {}),
            Host("PostgreSQL host, media files", args, server, files),
        ]
        if args.database_media:
            hosts.append(
                Host(
                    "PostgreSQL host, media in DB",
                    args,
                    server,
                    {"MOCKSERVER_MEDIA_URL": "database"},
                )
            )
        try:
            for host in hosts:
                log(f"starting {host.name}: {args.workers} workers")
                host.start()
            # the hosts take turns, round by round: a machine's load that drifts during the
            # run weighs on each of them alike
            for _ in range(args.rounds):
                for host in hosts:
                    host.storm(frames, count, args.duration / args.rounds)
        finally:
            runs = [host.finish() for host in hosts if host.live.process is not None]
    finally:
        server.stop()
        shutil.rmtree(frames, ignore_errors=True)
        shutil.rmtree(media, ignore_errors=True)
    print(
        f"SQLite host vs PostgreSQL host, wrk + Lua, {args.connections} connections, "
        f"{args.duration:g} s each in {args.rounds} turns, {args.workers} workers per host, "
        "1080p natural photos, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load "
        f"average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after"
    )
    for run in runs:
        print(run.line())
    print("\n".join(arithmetic(runs, sum(sizes) / len(sizes))))
    lines = verdict(runs[0], runs[1])
    print("targets:\n" + "\n".join(lines))
    return 0 if all(line.strip().startswith("met") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
