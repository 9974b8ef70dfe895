"""Does a page of license logs cost the same at 10^6 logs as at 10^3?

Bulk-seeds two throw-away stores in one run (``seed_bulk``), then times the same
requests against each through the app (in process, no network, so only the
emulator's own cost is measured): the first page, a page deep down the table (a cursor
half-way through), a walk of ``next`` links from there, and filtered first pages.
Prints medians and p95 per store and the 10^6 / 10^3 ratio (target: <= 1.5).

    python -m load_tests.bench_pagination [--small 1000] [--large 1000000] [--repeat 300]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

from mockserver import Config, create_app
from mockserver.core.pagination import Cursor, encode_cursor

from .seed_bulk import seed_bulk

VA = "/v1/vision-alert"


@dataclass
class Timing:
    median_ms: float
    p95_ms: float

    def __str__(self) -> str:
        return f"{self.median_ms:7.3f} ms (p95 {self.p95_ms:7.3f})"


def summary(samples: list[float]) -> Timing:
    samples = sorted(samples)
    return Timing(statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)])


@dataclass
class Target:
    """One seeded store with an app on it, and the URLs to time."""

    logs: int
    workdir: str
    app: object
    client: object
    headers: dict
    urls: dict[str, str]

    def get_ms(self, url: str) -> float:
        start = time.perf_counter()
        reply = self.client.get(url, headers=self.headers)
        elapsed = (time.perf_counter() - start) * 1000
        assert reply.status_code == 200, reply.json
        return elapsed

    def close(self) -> None:
        self.app.extensions["mockserver"].close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def middle_cursor(store_path: str, license_id: int, depth: int) -> str:
    """The cursor a client would hold after ``depth`` rows (found once, not timed)."""
    db = sqlite3.connect(store_path)
    try:
        created_us, row_id = db.execute(
            "SELECT created_us, id FROM va_logs WHERE license_id = ? "
            "ORDER BY created_us DESC, id DESC LIMIT 1 OFFSET ?",
            (license_id, depth),
        ).fetchone()
    finally:
        db.close()
    return encode_cursor(Cursor(position=(created_us, row_id)))


def prepare(logs: int) -> Target:
    workdir = tempfile.mkdtemp(prefix=f"bench-pagination-{logs}-")
    print(f"seeding {logs:,} logs in {workdir}", file=sys.stderr)
    start = time.perf_counter()
    seeded = seed_bulk(workdir, logs)
    print(f"  seeded in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    app = create_app(Config(data_dir=workdir, seed="none", tick_seconds=0))
    base = f"{VA}/{seeded.license_id}/logs/"
    deep = middle_cursor(app.extensions["mockserver"].store.path, seeded.license_id, logs // 2)
    urls = {
        "first page": base,
        "page at depth n/2": f"{base}?cursor={deep}",
        "status=anomaly": f"{base}?status=anomaly",
        "serial=CAM-0003": f"{base}?serial=CAM-0003",
        "tag=site-b": f"{base}?tag=site-b",
        "start/end one day": f"{base}?start=2026-01-01&end=2026-01-01",  # first day: both
    }
    headers = {"Authorization": f"Token {seeded.token}"}
    return Target(logs, workdir, app, app.test_client(), headers, urls)


def interleaved(small: Target, large: Target, name: str, repeat: int) -> tuple[Timing, Timing]:
    """Alternate requests between the two stores, so machine noise hits both alike."""
    for target in (small, large):
        for _ in range(5):
            target.get_ms(target.urls[name])
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(repeat):
        for index, target in enumerate((small, large)):
            times[index].append(target.get_ms(target.urls[name]))
    return summary(times[0]), summary(times[1])


def walk(small: Target, large: Target, pages: int) -> tuple[Timing, Timing]:
    """Follow ``next`` from depth n/2 in both stores, alternating; per-page timing."""
    urls = [small.urls["page at depth n/2"], large.urls["page at depth n/2"]]
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(max(pages, 1)):
        for index, target in enumerate((small, large)):
            start = time.perf_counter()
            reply = target.client.get(urls[index], headers=target.headers)
            times[index].append((time.perf_counter() - start) * 1000)
            assert reply.status_code == 200, reply.json
            urls[index] = reply.json["next"].split("localhost", 1)[1]
    return summary(times[0]), summary(times[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--walk", type=int, default=100)
    parser.add_argument("--target", type=float, default=1.5)
    args = parser.parse_args(argv)
    small, large = prepare(args.small), prepare(args.large)
    try:
        rows = {name: interleaved(small, large, name, args.repeat) for name in small.urls}
        walk_pages = min(args.walk, args.small // 100 - 1)
        rows["walk of next links"] = walk(small, large, walk_pages)
    finally:
        small.close()
        large.close()
    print(f"\nlicense logs, page_size 50, {args.repeat} requests each, alternating stores")
    print(f"(in-process app; walk: {walk_pages} next links followed from depth n/2)")
    print(f"{'':20} {f'{args.small:,} logs':>30}   {f'{args.large:,} logs':>30}   ratio")
    for name, (few, many) in rows.items():
        print(f"{name:20} {few!s:>30}   {many!s:>30}   {many.median_ms / few.median_ms:5.2f}")
    few, many = rows["first page"]
    ratio = many.median_ms / few.median_ms
    verdict = "OK" if ratio <= args.target else "ABOVE TARGET"
    print(
        f"\nfirst-page ratio {args.large:,} / {args.small:,} logs: {ratio:.2f} "
        f"(target <= {args.target}) {verdict}"
    )
    return 0 if ratio <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
