"""Soak: uploads at a fleet's rate for a long run, with storage bounded by retention.

Time is scaled through the emulator's rules, not the wall clock: the per-camera window is
set to what a camera of ``--cameras`` sees at ``--rate`` (so every camera uploads many
windows), and every upload is a distinct 1080p natural photo. A row per ``--interval``:
accepted/s, p50 and p99 of that slice, the store's size, the stored images' size and the
server's RSS (every process). Storage must plateau once retention and the byte cap bite,
RSS stay flat and p99 not drift; at the end every accepted upload has its log (none lost,
none twice) and a sample of the image URLs handed out all resolve.

    python -m load_tests.bench_soak [--duration 1200] [--rate 111] [--cameras 200]
        [--retention 4] [--byte-cap 300000000] [--database] [--s3] [--hosts 1]

``--database`` runs the world on a throw-away PostgreSQL server, ``--s3`` keeps the media
in an S3 endpoint (moto's server mode on loopback, or ``--s3-endpoint`` / the AWS
variables), ``--hosts 2`` (with ``--database``) spreads the uploads over two emulator hosts
of one world and also checks the window across them: a burst of simultaneous uploads of
one camera through both hosts is accepted exactly once.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter

import psutil
import requests

from mockserver.testkit.plugin import LiveServer

from . import loadgen
from .bench_common import TOKEN, camera_seed, log
from .bench_uploads import UploadFactory
from .bodies import multipart
from .control import Control
from .images import load_scenes, unique_bytes
from .verify import Ledger, verify

VA = "/v1/vision-alert"
MB = 1_000_000


class SliceFactory:
    """``UploadFactory`` across slices of a run: request numbers go on from slice to slice,
    so every upload of the run has bytes of its own."""

    def __init__(self, factory: UploadFactory, offset: int) -> None:
        self.factory, self.offset = factory, offset

    def __call__(self, worker: int, n: int) -> tuple[bytes, str]:
        return self.factory(worker, n + self.offset)


class World:
    """Where the run's world lives, and how big its store and media are."""

    def __init__(self, args) -> None:
        self.args = args
        self.data_dir = tempfile.mkdtemp(prefix="mockserver-soak-")
        self.database_url = ""
        self.postgres = self.s3 = None
        self.bucket = ""
        self.endpoint = args.s3_endpoint
        if args.database:
            sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            from tests.postgres_server import ThrowawayPostgres

            self.postgres = ThrowawayPostgres(durable=True)
            self.database_url = self.postgres.database()
        if args.s3:
            self.bucket = f"soak-{os.getpid()}"
            if not self.endpoint:
                sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
                from tests.s3_server import CREDENTIALS, S3

                os.environ.update(CREDENTIALS)
                logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
                self.s3 = S3()
                self.endpoint = self.s3.endpoint
        self.link = None
        if args.s3 and args.s3_latency:  # the store farther away: each request held
            from tests.s3_server import SlowLink

            self.link = SlowLink(self.endpoint, args.s3_latency / 1000)
        self.client = None
        if self.bucket:
            import boto3

            self.client = boto3.client("s3", endpoint_url=self.endpoint or None)

    def server_args(self) -> list[str]:
        options = []
        if self.database_url:
            options += ["--database", self.database_url]
        if self.bucket:
            options += ["--media", f"s3://{self.bucket}/soak"]
        return options

    def server_endpoint(self) -> str:
        """Where the hosts reach the store (through the slow link when there is one)."""
        return self.link.endpoint if self.link is not None else self.endpoint or ""

    def env(self) -> dict:
        return {
            "MOCKSERVER_MEDIA_RETENTION": str(self.args.retention),
            "MOCKSERVER_MEDIA_BYTE_CAP": str(self.args.byte_cap),
            "MOCKSERVER_S3_ENDPOINT": self.server_endpoint(),
        }

    def data_dir_of(self, host: int) -> str:
        path = os.path.join(self.data_dir, f"host-{host}")
        os.makedirs(path, exist_ok=True)
        return path

    def store_bytes(self) -> int:
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        folder = self.data_dir_of(0)
        return sum(
            os.path.getsize(os.path.join(folder, name))
            for name in os.listdir(folder)
            if name.startswith("store.sqlite3")
        )

    def media_bytes(self) -> tuple[int, int]:
        """(bytes, contents) of the stored images."""
        if self.client is not None:
            total = count = 0
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
            for page in pages:
                for item in page.get("Contents", []):
                    total, count = total + item["Size"], count + 1
            return total, count
        total = count = 0
        for folder, _dirs, files in os.walk(os.path.join(self.data_dir_of(0), "media")):
            for name in files:
                try:
                    total += os.path.getsize(os.path.join(folder, name))
                    count += 1
                except FileNotFoundError:
                    pass
        return total, count

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()
        if self.link is not None:
            self.link.stop()
        if self.s3 is not None:
            self.s3.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                total += process.memory_info().rss
        except psutil.Error:
            pass
    return total


def burst(urls: list[str], serial: str, count: int) -> Counter:
    """``count`` simultaneous uploads of one camera spread over ``urls``: status codes."""
    frame = load_scenes(1920)[0].reference
    headers = {"Authorization": f"Token {TOKEN}"}

    def one(n: int) -> int:
        body, content_type = multipart(
            {"camera_id": serial},
            {"upload": ("f.jpg", unique_bytes(frame, f"burst:{n}".encode()), "image/jpeg")},
        )
        reply = requests.post(
            urls[n % len(urls)], data=body, headers={**headers, "Content-Type": content_type}
        )
        return reply.status_code

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return Counter(pool.map(one, range(count)))


def resolves(base: str, license_id: int, sample: int) -> tuple[int, int]:
    """(resolved, asked) of ``sample`` image URLs of the license's logs, from all pages."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {TOKEN}"
    urls, page = [], f"{base}{VA}/{license_id}/logs/?page_size=100"
    while page and len(urls) < 20 * sample:
        reply = session.get(page, timeout=60).json()
        urls += [log["snapshot"] for log in reply["results"] if log.get("snapshot")]
        page = reply.get("next")
    chosen = random.Random(7).sample(urls, min(sample, len(urls)))
    ok = 0
    for url in chosen:
        reply = session.get(url, timeout=60)
        ok += reply.status_code == 200 and reply.content[:2] in (b"\xff\xd8", b"\x89P")
    return ok, len(chosen)


def run(args) -> int:
    load_scenes(1920)  # the frames are made before the clock of the run starts
    world = World(args)
    hosts: list[LiveServer] = []
    try:
        for host in range(args.hosts):
            hosts.append(
                LiveServer(
                    workers=args.workers,
                    seed="none",
                    data_dir=world.data_dir_of(host),
                    extra_args=world.server_args(),
                    env=world.env(),
                ).start(timeout=120)
            )
        control = Control(hosts[0].url)
        reply = control.seed(camera_seed(0))
        license_id = reply["accounts"][0]["licenses"][0]["id"]
        control.real_time()
        per_worker = max(1, args.cameras // args.processes)
        every = per_worker / (args.rate / args.processes)  # seconds between a camera's uploads
        window = every * 0.5  # room for a request's wait in the queue
        control.update_settings(camera_window=window, offline_after=every * 40)
        urls = [f"{host.url}{VA}/create-log/" for host in hosts]
        factory = UploadFactory(urls[0], TOKEN, per_worker, 1920)
        pids = [host.process.pid for host in hosts]
        log(
            f"soak: {args.duration:.0f} s at {args.rate:.0f} uploads/s, {args.cameras} cameras "
            f"(one upload each {every:.1f} s, window {window:.1f} s), retention "
            f"{args.retention}, byte cap {args.byte_cap / MB:.0f} MB, {args.hosts} host(s) x "
            f"{args.workers} worker(s), store {'PostgreSQL' if args.database else 'SQLite'}, "
            f"media {'S3' if args.s3 else 'files'}"
        )
        header = (
            f"{'t (s)':>6} {'acc/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'429':>5} {'fail':>5} "
            f"{'store MB':>9} {'media MB':>9} {'images':>7} {'RSS MB':>7}"
        )
        print(header)
        ledger: Counter = Counter()
        started, slices, rows = time.monotonic(), 0, []
        while time.monotonic() - started < args.duration:
            seconds = min(args.interval, args.duration - (time.monotonic() - started))
            result = loadgen.run(
                urls,
                SliceFactory(factory, slices * per_worker * 100_000),
                seconds=max(seconds, 1.0),
                processes=args.processes,
                connections=args.connections,
                rate=args.rate,
                warmup=0.0,
            )
            slices += 1
            ledger.update(result.accepted)
            media, images = world.media_bytes()
            row = (
                time.monotonic() - started,
                sum(result.accepted.values()) / result.seconds,
                result.percentile(0.5),
                result.percentile(0.99),
                result.statuses.get(429, 0),
                result.failures - result.statuses.get(429, 0),
                world.store_bytes() / MB,
                media / MB,
                images,
                rss_bytes(pids) / MB,
            )
            rows.append(row)
            print(
                f"{row[0]:6.0f} {row[1]:7.1f} {row[2]:7.0f} {row[3]:7.0f} {row[4]:5d} {row[5]:5d} "
                f"{row[6]:9.1f} {row[7]:9.1f} {row[8]:7d} {row[9]:7.0f}",
                flush=True,
            )
        failures = 0
        if args.hosts > 1:  # one window for the whole burst, however long it takes
            control.update_settings(camera_window=3600)
            codes = burst(urls, "BURST-1", 24)
            exact = codes.get(200, 0) == 1
            failures += not exact
            ledger["BURST-1"] += codes.get(200, 0)
            print(f"window across hosts: 24 simultaneous uploads of one camera -> {dict(codes)}")
        control.advance(every * 2)
        report = verify(hosts[-1].url, TOKEN, Ledger(uploads=ledger), patience=120)
        ok, asked = resolves(hosts[-1].url, license_id, args.sample)
        accepted = sum(ledger.values())
        print(
            f"accepted {accepted} uploads; {report.summary()}; image URLs resolving "
            f"{ok}/{asked} (through {'the other host' if args.hosts > 1 else 'the host'})"
        )
        failures += (not report.ok) + (ok != asked)
        if len(rows) >= 4:
            half = len(rows) // 2
            first, last = rows[half - 1], rows[-1]
            print(
                f"end of first half -> end: media {first[7]:.0f} -> {last[7]:.0f} MB, "
                f"store {first[6]:.0f} -> {last[6]:.0f} MB, RSS {first[9]:.0f} -> "
                f"{last[9]:.0f} MB, p99 {first[3]:.0f} -> {last[3]:.0f} ms"
            )
        return 1 if failures else 0
    finally:
        for host in hosts:
            host.stop()
        world.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=1200.0, help="seconds (20 min)")
    parser.add_argument("--rate", type=float, default=111.0, help="uploads per second")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds per row")
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--retention", type=int, default=4, help="media_retention")
    parser.add_argument("--byte-cap", type=int, default=300 * MB, help="media_byte_cap")
    parser.add_argument("--database", action="store_true", help="PostgreSQL (its own server)")
    parser.add_argument("--s3", action="store_true", help="media in an S3 endpoint")
    parser.add_argument("--s3-endpoint", default="", help="default: moto on loopback")
    parser.add_argument(
        "--s3-latency", type=float, default=0.0, help="ms each S3 request is held (a slow store)"
    )
    parser.add_argument("--hosts", type=int, default=1, help="emulator hosts (>1: --database)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per host")
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--connections", type=int, default=16, help="per load process")
    parser.add_argument("--sample", type=int, default=50, help="image URLs fetched at the end")
    args = parser.parse_args(argv)
    if args.hosts > 1 and not args.database:
        parser.error("--hosts > 1 needs --database (one world for every host)")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
