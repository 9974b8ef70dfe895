"""Do the dashboard's pages stay fast with 10,000 cameras and 10^6 logs?

Bulk-seeds two throw-away stores (``seed_bulk``: a small fleet and a large one), then
renders the same dashboard pages from each through the app (in process, no network: the
emulator's own cost), interleaved, and prints per page the median and p95 render time,
the SQL statements it ran (the same count at any size means no query per row) and the
large / small ratio. Thumbnails: the first request makes one from a 1080p frame, later
ones read the kept file.

    python -m load_tests.bench_dashboard [--cameras 10000] [--logs 1000000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

from PIL import Image
from sqlalchemy import event

from mockserver import Config, create_app

from .seed_bulk import seed_bulk

UI = "/_mock/ui"
SNAPSHOT_SHA = "0" * 64  # every bulk log's snapshot row names this content


@dataclass
class Target:
    label: str
    workdir: str
    app: object
    client: object
    urls: dict[str, str]
    statements: list[int]


def _frame() -> bytes:
    """A 1920x1080 JPEG with some structure (a gradient and bands), as a camera sends."""
    image = Image.linear_gradient("L").resize((1920, 1080)).convert("RGB")
    for x in range(0, 1920, 160):
        image.paste((40, 90, 160), (x, 300, x + 60, 800))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _middle(store_path: str, query: str, args: tuple) -> str:
    """A keyset position half-way down a list (``<time_us>.<id>``)."""
    db = sqlite3.connect(store_path)
    try:
        time_us, row_id = db.execute(query, args).fetchone()
    finally:
        db.close()
    return f"{time_us}.{row_id}"


def prepare(label: str, cameras: int, logs: int) -> Target:
    workdir = tempfile.mkdtemp(prefix=f"bench-dashboard-{cameras}-")
    print(f"seeding {cameras:,} cameras and {logs:,} logs in {workdir}", file=sys.stderr)
    start = time.perf_counter()
    seeded = seed_bulk(workdir, logs, cameras=cameras, show_progress=False)
    print(f"  seeded in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    app = create_app(Config(data_dir=workdir, seed="none", tick_seconds=0))
    emulator = app.extensions["mockserver"]
    os.makedirs(os.path.dirname(emulator.media.path(SNAPSHOT_SHA)), exist_ok=True)
    with open(emulator.media.path(SNAPSHOT_SHA), "wb") as handle:
        handle.write(_frame())
    lic = seeded.license_id
    store = emulator.store.path
    camera_at = _middle(
        store,
        "SELECT created_us, id FROM va_cameras WHERE license_id = ? "
        "ORDER BY created_us DESC, id DESC LIMIT 1 OFFSET ?",
        (lic, cameras // 2),
    )
    serial = seeded.serials[cameras // 2]
    per_camera = max(logs // cameras, 1)
    log_at = _middle(
        store,
        "SELECT l.created_us, l.id FROM va_logs l JOIN va_cameras c ON c.id = l.camera_id "
        "WHERE c.serial = ? ORDER BY l.created_us DESC, l.id DESC LIMIT 1 OFFSET ?",
        (serial, per_camera // 2),
    )
    client = app.test_client()
    grid = client.get(f"{UI}/licenses/{lic}").get_data(as_text=True)
    thumb = re.search(r"/_mock/ui/thumbs/[0-9a-f]+\.jpg", grid).group(0)
    urls = {
        "overview": f"{UI}/",
        "camera grid, first page": f"{UI}/licenses/{lic}",
        "camera grid, page at n/2": f"{UI}/licenses/{lic}?after={camera_at}",
        "camera page (latest logs)": f"{UI}/licenses/{lic}/cameras/{serial}",
        "camera page, logs at n/2": f"{UI}/licenses/{lic}/cameras/{serial}?after={log_at}",
        "alerts": f"{UI}/licenses/{lic}/alerts",
        "journal": f"{UI}/journal",
        "thumbnail (kept file)": thumb,
    }
    statements: list[int] = [0]

    def count(*_args) -> None:
        statements[0] += 1

    event.listen(emulator.store.engine, "before_cursor_execute", count)
    return Target(label, workdir, app, client, urls, statements)


def first_thumbnail(target: Target) -> float:
    """Time of the request that makes a thumbnail (nothing kept yet), in ms."""
    shutil.rmtree(os.path.join(target.workdir, "thumbnails"), ignore_errors=True)
    start = time.perf_counter()
    reply = target.client.get(target.urls["thumbnail (kept file)"])
    elapsed = (time.perf_counter() - start) * 1000
    assert reply.status_code == 200, reply.status_code
    return elapsed


def measure(target: Target, url: str) -> tuple[float, int]:
    target.statements[0] = 0
    start = time.perf_counter()
    reply = target.client.get(url)
    reply.get_data()
    elapsed = (time.perf_counter() - start) * 1000
    assert reply.status_code == 200, (url, reply.status_code, reply.get_data()[:200])
    return elapsed, target.statements[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=10_000)
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--small-cameras", type=int, default=50)
    parser.add_argument("--small-logs", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    small = prepare("small", args.small_cameras, args.small_logs)
    large = prepare("large", args.cameras, args.logs)
    try:
        thumbs = {t.label: first_thumbnail(t) for t in (small, large)}
        print(
            f"dashboard pages: {args.small_cameras:,} cameras / {args.small_logs:,} logs vs "
            f"{args.cameras:,} cameras / {args.logs:,} logs ({args.repeat} renders each, "
            "in process)"
        )
        print(f"{'page':<28} {'small median':>12} {'large median':>12} {'large p95':>10} "
              f"{'SQL small/large':>16} {'ratio':>6}")  # fmt: skip
        worst = 0.0
        for name in small.urls:
            samples: dict[str, list[float]] = {"small": [], "large": []}
            counts: dict[str, int] = {}
            for _ in range(args.repeat):
                for target in (small, large):  # interleaved: drift hits both alike
                    elapsed, statements = measure(target, target.urls[name])
                    samples[target.label].append(elapsed)
                    counts[target.label] = statements
            med_small = statistics.median(samples["small"])
            med_large = statistics.median(samples["large"])
            p95 = sorted(samples["large"])[int(0.95 * (len(samples["large"]) - 1))]
            ratio = med_large / med_small
            worst = max(worst, ratio)
            print(
                f"{name:<28} {med_small:9.2f} ms {med_large:9.2f} ms {p95:7.2f} ms "
                f"{counts['small']:>8}/{counts['large']:<7} {ratio:5.2f}x"
            )
        print(
            f"thumbnail made on first request: {thumbs['small']:.1f} / {thumbs['large']:.1f} ms "
            "(1920x1080 JPEG -> 320 px); kept file: see the row above"
        )
        print(f"worst large/small ratio: {worst:.2f}x")
    finally:
        for target in (small, large):
            target.app.extensions["mockserver"].close()
            shutil.rmtree(target.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
