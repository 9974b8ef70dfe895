"""The PostgreSQL backend's figures: pagination at scale, uploads on 1 vs 2 hosts, and a
distributed Locust run against two hosts behind one address.

Runs on its own throw-away PostgreSQL server with the server's durable defaults (fsync and
synchronous commit on), or on ``--database URL`` (a server where it may create databases).

    python -m load_tests.bench_postgres [pagination] [uploads] [locust]
        [--large 1000000] [--duration 30] [--locust-time 30]

* pagination: one page of license logs at 10^6 vs 10^3 logs (target <= 1.5x);
* uploads: closed-loop 1080p create-log for ``--duration`` s on one host, then on two hosts
  of one database; CPU time of the emulator processes and of PostgreSQL per accepted
  upload (what sizes a cluster), transactions and serialization retries per upload;
* locust: ``locust --master`` + 2 ``--worker`` processes, the fleet profile, against two
  hosts behind ``load_tests/balancer.py``; then every accepted upload is matched with its
  log (``verify.py``): 0 failed, 0 lost is the target.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager

import psutil
import psycopg

from mockserver import Config, create_app
from mockserver.control.seeding import apply_seed
from mockserver.core import schema
from mockserver.core.pagination import Cursor, encode_cursor
from mockserver.core.pgstore import PostgresStore
from mockserver.core.timefmt import parse_instant
from mockserver.testkit import seeds
from mockserver.testkit.plugin import LiveServer
from mockserver.vendors import VENDORS

from . import loadgen
from .balancer import Balancer
from .bench_common import TOKEN, camera_seed, log
from .bench_pagination import Target, interleaved, walk
from .bench_uploads import UploadFactory
from .control import Control
from .images import load_scenes
from .seed_bulk import STATUS_MIX
from .verify import Ledger, read_ledgers, verify

VA = "/v1/vision-alert"


class Server:
    """Where the benchmark's databases live: its own server, or ``--database``'s."""

    def __init__(self, url: str | None) -> None:
        self.own = None
        if url is None:
            sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            from tests.postgres_server import ThrowawayPostgres

            self.own = ThrowawayPostgres(durable=True)
            url = self.own.url("postgres")
        self.admin_url = url
        self.count = 0

    def database(self) -> str:
        self.count += 1
        name = f"bench_{os.getpid()}_{self.count}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def server_pids(self) -> list[int]:
        """The postmaster and its children, when the server is this machine's."""
        if self.own is None:
            return []
        root = psutil.Process(self.own.pid)
        return [root.pid, *(child.pid for child in root.children(recursive=True))]

    def stop(self) -> None:
        if self.own is not None:
            self.own.stop()


# -- pagination -------------------------------------------------------------------------------


def seed_logs(url: str, logs: int, cameras: int = 50) -> tuple[int, str]:
    """One account, license and ``cameras`` cameras through the seed path; ``logs`` logs
    with ``COPY`` (seconds for a million). Returns (license id, token)."""
    seed = camera_seed(
        fleet=[
            seeds.camera(f"CAM-{i:04d}", name=f"Camera {i}", tags=[("site-a", "site-b")[i % 2]])
            for i in range(cameras)
        ]
    )
    start_us = parse_instant("2026-01-01T00:00:00Z")
    store = PostgresStore(url)
    try:

        def setup(conn):
            conn.execute(schema.meta.insert().values(key="initialized", value="1"))
            return apply_seed(VENDORS, conn, seed, start_us)["accounts"][0]["licenses"][0]["id"]

        license_id = store.transact(setup)
    finally:
        store.dispose()
    statuses = [status for status, weight, _ in STATUS_MIX for _ in range(weight)]
    anomalies = {
        status: ("{}" if not a else str(a).replace("'", '"')) for status, _, a in STATUS_MIX
    }
    with psycopg.connect(url) as conn:
        camera_ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM va_cameras WHERE license_id = %s ORDER BY id", (license_id,)
            )
        ]
        with conn.cursor().copy(
            "COPY va_logs (license_id, camera_id, status, anomalies, created_us) FROM STDIN"
        ) as copy:
            for i in range(logs):
                status = statuses[(i * 7919) % len(statuses)]
                copy.write_row(
                    (
                        license_id,
                        camera_ids[i % len(camera_ids)],
                        status,
                        anomalies[status],
                        start_us + i * 15_000_000,
                    )
                )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE va_logs")
    return license_id, seed["accounts"][0]["token"]


def middle_cursor(url: str, license_id: int, depth: int) -> str:
    with psycopg.connect(url) as conn:
        created_us, row_id = conn.execute(
            "SELECT created_us, id FROM va_logs WHERE license_id = %s "
            "ORDER BY created_us DESC, id DESC LIMIT 1 OFFSET %s",
            (license_id, depth),
        ).fetchone()
    return encode_cursor(Cursor(position=(created_us, row_id)))


def pagination_target(server: Server, logs: int) -> Target:
    url = server.database()
    log(f"pagination: seeding {logs:,} logs")
    started = time.perf_counter()
    license_id, token = seed_logs(url, logs)
    log(f"  seeded in {time.perf_counter() - started:.1f} s")
    app = create_app(Config(database_url=url, seed="none", tick_seconds=0))
    base = f"{VA}/{license_id}/logs/"
    deep = middle_cursor(url, license_id, logs // 2)
    urls = {
        "first page": base,
        "page at depth n/2": f"{base}?cursor={deep}",
        "status=anomaly": f"{base}?status=anomaly",
        "serial=CAM-0003": f"{base}?serial=CAM-0003",
        "tag=site-b": f"{base}?tag=site-b",
        "start/end one day": f"{base}?start=2026-01-01&end=2026-01-01",
    }
    headers = {"Authorization": f"Token {token}"}
    return Target(logs, tempfile.mkdtemp(), app, app.test_client(), headers, urls)


def bench_pagination(server: Server, args) -> list[str]:
    small, large = pagination_target(server, args.small), pagination_target(server, args.large)
    try:
        rows = {name: interleaved(small, large, name, args.repeat) for name in small.urls}
        rows["walk of next links"] = walk(small, large, min(100, args.small // 100 - 1))
    finally:
        small.close()
        large.close()
    lines = [
        f"license logs on PostgreSQL, page_size 50, {args.repeat} requests each, alternating",
        f"{'':20} {f'{args.small:,} logs':>30}   {f'{args.large:,} logs':>30}   ratio",
    ]
    for name, (few, many) in rows.items():
        lines.append(
            f"{name:20} {few!s:>30}   {many!s:>30}   {many.median_ms / few.median_ms:5.2f}"
        )
    few, many = rows["first page"]
    ratio = many.median_ms / few.median_ms
    lines.append(
        f"first-page ratio {args.large:,} / {args.small:,}: {ratio:.2f} (target <= 1.5) "
        + ("OK" if ratio <= 1.5 else "ABOVE TARGET")
    )
    return lines


# -- uploads on 1 and 2 hosts -----------------------------------------------------------------


def cpu_by_process(roots: list[int]) -> dict[int, float]:
    """CPU seconds so far of each process in the trees under ``roots``."""
    found = {}
    for root_pid in roots:
        try:
            root = psutil.Process(root_pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for process in tree:
            try:
                times = process.cpu_times()
                found[process.pid] = times.user + times.system
            except psutil.Error:
                pass
    return found


def cpu_spent(roots: list[int], before: dict[int, float]) -> float:
    """CPU seconds since ``before`` of the trees (processes started since count in full;
    one that ended meanwhile is lost: PostgreSQL backends of a pool live through a run)."""
    after = cpu_by_process(roots)
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def database_counters(url: str) -> tuple[int, int]:
    """(commits, rollbacks) of one database so far."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        name = url.rsplit("/", 1)[1]
        return conn.execute(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()


@contextmanager
def hosts_on(url: str, count: int, workers: int):
    hosts = []
    try:
        for _ in range(count):
            hosts.append(
                LiveServer(workers=workers, seed="none", extra_args=["--database", url]).start(
                    timeout=60
                )
            )
        yield hosts
    finally:
        for host in hosts:
            host.stop()


def upload_run(server: Server, count: int, args) -> str:
    url = server.database()
    with hosts_on(url, count, args.host_workers) as hosts:
        control = Control(hosts[0].url)
        control.seed(camera_seed(0))
        control.real_time()
        control.update_settings(camera_window=5.0, offline_after=10 * 365 * 86400)
        urls = [f"{host.url}/v1/vision-alert/create-log/" for host in hosts]
        per_worker = int(120 / args.processes * 5 * 3) + 1
        factory = UploadFactory(urls[0], TOKEN, per_worker, 1920)
        emulator_roots = [host.process.pid for host in hosts]
        database_roots = server.server_pids()[:1]
        cpu_before = cpu_by_process(emulator_roots), cpu_by_process(database_roots)
        commits_before = database_counters(url)
        result = loadgen.run(
            urls,
            factory,
            seconds=args.duration,
            processes=args.processes,
            connections=args.upload_connections,
            warmup=0.0,
        )
        emulator_cpu = cpu_spent(emulator_roots, cpu_before[0])
        database_cpu = cpu_spent(database_roots, cpu_before[1])
        commits, rollbacks = (
            after - before
            for after, before in zip(database_counters(url), commits_before, strict=True)
        )
        control.advance(3600)
        report = verify(hosts[-1].url, TOKEN, Ledger(uploads=Counter(result.accepted)), patience=60)
    accepted = sum(result.accepted.values())
    per = max(accepted, 1)
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(result.statuses.items()))
    return (
        f"{count} host(s) x {args.host_workers} worker(s): {accepted / result.seconds:6.1f} "
        f"accepted/s, p50 {result.percentile(0.5):.0f} ms, p99 {result.percentile(0.99):.0f} ms "
        f"({codes}; {result.errors} conn errors) | CPU per accepted upload: emulator "
        f"{emulator_cpu / per * 1000:.1f} ms (incl. its log's processing), PostgreSQL "
        f"{database_cpu / per * 1000:.1f} ms | {commits / per:.1f} commits, "
        f"{rollbacks / per:.2f} rollbacks per upload | lost "
        f"{sum(report.lost_uploads.values())}, duplicated "
        f"{sum(report.duplicated_uploads.values())}"
    )


def bench_uploads(server: Server, args) -> list[str]:
    load_scenes(1920)  # the frames, before any clock starts
    return [upload_run(server, count, args) for count in (1, 2)]


# -- Locust, distributed, against two hosts behind one address --------------------------------


def bench_locust(server: Server, args) -> list[str]:
    url = server.database()
    reports = tempfile.mkdtemp(prefix="bench-locust-")
    ledger = os.path.join(reports, "ledger", "run")
    os.makedirs(os.path.dirname(ledger))
    with hosts_on(url, 2, args.host_workers) as hosts:
        balancer = Balancer([host.url for host in hosts])
        try:
            Control(balancer.url).seed(camera_seed(0))
            common = [
                "-f", "load_tests/fleet.py", "--host", balancer.url, "--token", TOKEN,
                "--emulator", "--time-scale", "90", "--ledger", ledger,
            ]  # fmt: skip
            port = loadgen_free_port()
            locust = os.path.join(os.path.dirname(sys.executable), "locust")
            master = subprocess.Popen(
                [
                    locust, *common, "--master", "--master-bind-port", str(port),
                    "--expect-workers", "2", "--headless", "-u", str(args.locust_users),
                    "-r", str(args.locust_users), "-t", f"{int(args.locust_time)}s",
                    "--csv", os.path.join(reports, "fleet"), "--only-summary",
                ],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            workers = [
                subprocess.Popen(
                    [locust, *common, "--worker", "--master-port", str(port)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(2)
            ]
            output, _ = master.communicate(timeout=args.locust_time + 180)
            for worker in workers:  # they stop when the master tells them; else we do
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.terminate()
                    worker.wait(timeout=15)
            stats = _aggregated(os.path.join(reports, "fleet_stats.csv"))
            clock = Control(balancer.url).advance(3600)
            from datetime import datetime

            now = datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))
            report = verify(balancer.url, TOKEN, read_ledgers(ledger), now, patience=60)
        finally:
            balancer.close()
    connected = "2 workers connected" in output or output.count("reported as ready") >= 2
    if not stats:
        log(f"locust master output:\n{output[-3000:]}")
    return [
        f"locust master + 2 workers ({'both connected' if connected else 'WORKERS MISSING'}), "
        f"fleet profile, {args.locust_users} users, {args.locust_time:g} s, two hosts behind "
        f"{balancer.url}: {stats.get('Request Count', '?')} requests, "
        f"{stats.get('Failure Count', '?')} failed, "
        f"{float(stats.get('Requests/s', 0)):.1f} req/s",
        f"verify: {report.summary()}",
    ]


def _aggregated(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") == "Aggregated":
                return row
    return {}


def loadgen_free_port() -> int:
    from mockserver.testkit.plugin import free_port

    return free_port()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["pagination", "uploads", "locust"])
    parser.add_argument("--database", default=None, help="admin URL of a server to use")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--upload-connections", type=int, default=8)
    parser.add_argument("--host-workers", type=int, default=1, help="worker processes per host")
    parser.add_argument("--locust-users", type=int, default=60)
    parser.add_argument("--locust-time", type=float, default=30.0)
    args = parser.parse_args(argv)
    server = Server(args.database)
    print(f"PostgreSQL backend, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {uptime()}")
    try:
        for part in args.parts:
            log(f"== {part}")
            lines = {"pagination": bench_pagination, "uploads": bench_uploads,
                     "locust": bench_locust}[part](server, args)  # fmt: skip
            print("\n".join(lines) + f"\n({uptime()})\n", flush=True)
    finally:
        server.stop()
    return 0


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
