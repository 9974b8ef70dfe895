"""Fill a data directory with many VisionAlert logs, fast, for benchmarks.

The account, license and cameras go through the normal seed path (``apply_seed``); the
logs are written with raw ``sqlite3`` ``executemany`` in big transactions, oldest
first, so a million rows take seconds instead of the hours a million uploads would.
A server started on the directory afterwards (``mockserver serve --data-dir DIR``
or ``create_app``) sees them like any others.

    python -m load_tests.seed_bulk --data-dir /tmp/bench --logs 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
from dataclasses import dataclass

from mockserver.control.seeding import apply_seed
from mockserver.core import schema
from mockserver.core.store import Store
from mockserver.core.timefmt import parse_instant
from mockserver.testkit import seeds
from mockserver.vendors import VENDORS

BATCH = 20_000
#: (status, weight, anomalies) of the generated logs: mostly normal, like a healthy fleet
STATUS_MIX = (
    ("normal", 88, {}),
    ("anomaly", 8, {"Blur": 0.87}),
    ("under_review", 2, {}),
    ("offline", 2, {}),
)


@dataclass(frozen=True)
class BulkSeed:
    data_dir: str
    token: str
    license_id: int
    license_code: str
    serials: list[str]
    tags: list[str]
    logs: int


def progress(done: int, total: int, label: str = "logs", width: int = 30) -> None:
    """A one-line progress bar on stderr (no dependency)."""
    share = done / total if total else 1.0
    filled = int(width * share)
    bar = "#" * filled + "-" * (width - filled)
    sys.stderr.write(f"\r  [{bar}] {share:6.1%} {done:>9,}/{total:,} {label}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def seed_bulk(
    data_dir: str,
    logs: int,
    *,
    cameras: int = 50,
    token: str = "bench-token",
    license_code: str = "LIC-BENCH",
    start: str = "2026-01-01T00:00:00Z",
    step_seconds: float = 15.0,
    show_progress: bool = True,
    rng_seed: int = 7,
) -> BulkSeed:
    """Create one account with one license of ``cameras`` cameras and ``logs`` logs.

    Logs are spread round-robin over the cameras, ``step_seconds`` apart, starting at
    ``start``; every camera has one snapshot image row that its logs point at.
    """
    os.makedirs(data_dir, exist_ok=True)
    serials = [f"CAM-{i:04d}" for i in range(cameras)]
    tags = ["site-a", "site-b", "floor-1"]
    fleet = [seeds.camera(s, name=f"Camera {s}", tags=[tags[i % 3]]) for i, s in enumerate(serials)]
    seed = seeds.world(
        seeds.account(
            token,
            products=["visionalert"],
            licenses=[seeds.license(license_code, size=max(cameras, 1), cameras=fleet)],
        )
    )
    start_us = parse_instant(start)
    store = Store(data_dir)
    try:

        def setup(conn):
            conn.execute(schema.meta.insert().values(key="initialized", value="1"))
            result = apply_seed(VENDORS, conn, seed, start_us)
            return result["accounts"][0]["licenses"][0]["id"]

        license_id = store.transact(setup)
    finally:
        store.dispose()
    _insert_logs(
        store.path, license_id, logs, start_us, int(step_seconds * 1e6), rng_seed, show_progress
    )
    return BulkSeed(data_dir, token, license_id, license_code, serials, tags, logs)


def _insert_logs(
    path: str, license_id: int, total: int, start_us: int, step_us: int, rng_seed: int, show: bool
) -> None:
    rng = random.Random(rng_seed)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-200000")
        camera_ids = [
            row[0]
            for row in db.execute(
                "SELECT id FROM va_cameras WHERE license_id = ? ORDER BY id", (license_id,)
            )
        ]
        snapshots = {}
        db.execute("BEGIN")
        for camera_id in camera_ids:
            cursor = db.execute(
                "INSERT INTO media (name, sha256, content_type, size, kind, created_us) "
                "VALUES (?, ?, 'image/jpeg', 0, 'camera_snapshot', ?)",
                (f"{rng.getrandbits(128):032x}.jpg", "0" * 64, start_us),
            )
            snapshots[camera_id] = cursor.lastrowid
        db.execute("COMMIT")
        statuses = [s for s, _, _ in STATUS_MIX]
        weights = [w for _, w, _ in STATUS_MIX]
        anomaly_text = {s: json.dumps(a) for s, _, a in STATUS_MIX}
        latest: dict[int, str] = {}
        done = 0
        while done < total:
            count = min(BATCH, total - done)
            rows = []
            for i in range(done, done + count):
                camera_id = camera_ids[i % len(camera_ids)]
                status = rng.choices(statuses, weights)[0]
                latest[camera_id] = status
                snapshot = None if status == "offline" else snapshots[camera_id]
                rows.append(
                    (
                        license_id,
                        camera_id,
                        status,
                        anomaly_text[status],
                        snapshot,
                        start_us + i * step_us,
                    )
                )
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO va_logs (license_id, camera_id, status, anomalies, snapshot_id, "
                "created_us) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            db.execute("COMMIT")
            done += count
            if show:
                progress(done, total)
        db.execute("BEGIN")
        db.executemany(
            "UPDATE va_cameras SET latest_status = ? WHERE id = ?",
            [(status, camera_id) for camera_id, status in latest.items()],
        )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--token", default="bench-token")
    args = parser.parse_args(argv)
    seeded = seed_bulk(args.data_dir, args.logs, cameras=args.cameras, token=args.token)
    print(
        json.dumps(
            {"token": seeded.token, "license_id": seeded.license_id, "logs": seeded.logs},
            indent=None,
        )
    )


if __name__ == "__main__":
    main()
