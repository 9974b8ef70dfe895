"""Bench row 4: a fleet's upload storm through ``wrk``, alone and beside a dashboard reader.

    python -m load_tests.bench_uploads_wrk                 # 60 s each phase, 8 connections
    python -m load_tests.bench_uploads_wrk --duration 20   # a quick look

``wrk`` (C, with the Lua script ``wrk/uploads.lua``) drives ``mockserver serve`` (its
default workers) in a closed loop: 8 connections, every upload a new camera serial and
distinct JPEG bytes (a counter in a JPEG comment: same decode cost, new SHA-256), taken
from 1920x1080 natural photographs (``images.load_scenes``), per-account throttle off.
Phase 1: uploads alone. Phase 2: the same, with a dashboard (``wrk/reader.lua``) reading a
50-camera page of another license beside it. After each phase the clock is advanced an
hour and every acknowledged upload is looked up through the read API: exactly one log.

Printed per phase: accepted/s, p50, p99, lost, duplicated, the server's CPU time per
accepted upload (all its processes), and the reader's p50/p99. The bench installs
nothing: without ``wrk`` (Debian package ``wrk``: ``apt-get install wrk``) it says so and
falls back to the project's Python load generator (``loadgen.py``), labelled as such.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass

import psutil

from mockserver.testkit import seeds
from mockserver.testkit.plugin import LiveServer

from . import loadgen
from .bench_common import TOKEN, Row, default_workers, log
from .bodies import multipart
from .control import Control
from .images import load_scenes, unique_bytes
from .verify import Ledger, verify

HERE = os.path.dirname(os.path.abspath(__file__))
WRK_HINT = "wrk is not installed: `apt-get install wrk` (Debian/Ubuntu package `wrk`)"
READ_LICENSE = "LIC-DASHBOARD"
FLEET_LICENSE = "LIC-FLEET"
TARGET = ">= 150 accepted/s, p99 < 500 ms, 0 lost, 0 duplicated; reader p99 < 100 ms"


@dataclass
class Phase:
    """One run of the storm: what the clients saw and what the server spent."""

    generator: str
    seconds: float
    accepted: int
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: int
    lost: int
    duplicated: int
    cpu_ms_per_upload: float
    reader: dict | None = None

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        text = (
            f"{self.rate:,.1f} accepted/s, p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms, "
            f"{self.lost} lost, {self.duplicated} duplicated ({codes}; {self.errors} errors); "
            f"server CPU {self.cpu_ms_per_upload:.1f} ms/upload"
        )
        if self.reader is not None:
            text += (
                f"; reader {self.reader['requests'] / max(self.reader['seconds'], 1e-9):.0f}"
                f" req/s, p50 {self.reader['p50_ms']:.1f} ms, p99 {self.reader['p99_ms']:.1f} ms"
            )
        return text

    def met(self) -> bool:
        reader_ok = self.reader is None or self.reader["p99_ms"] < 100
        return (
            self.rate >= 150
            and self.p99_ms < 500
            and self.lost == 0
            and self.duplicated == 0
            and reader_ok
        )


def seed(cameras_in_dashboard: int = 50) -> dict:
    """One account, throttle off: a dashboard license of 50 cameras (filled, so uploads
    register their cameras under the fleet license) and a fleet license with room."""
    dashboard = [
        seeds.camera(f"DASH-{i:03d}", name=f"Camera {i}") for i in range(cameras_in_dashboard)
    ]
    return seeds.world(
        seeds.account(
            TOKEN,
            products=["visionalert"],
            licenses=[
                seeds.license(READ_LICENSE, size=cameras_in_dashboard, cameras=dashboard),
                seeds.license(FLEET_LICENSE, size=10_000_000),
            ],
        )
    )


def write_frames(directory: str, width: int = 1920) -> int:
    """The storm's frames: each scene's reference and normal views, some of each anomaly."""
    count = 0
    for scene in load_scenes(width):
        chosen = [scene.reference, *scene.frames["normal"]]
        chosen += [scene.frames[kind][0] for kind in ("blur", "obstruction", "glare", "shift")]
        for frame in chosen:
            with open(os.path.join(directory, f"frame-{count:03d}.jpg"), "wb") as handle:
                handle.write(frame)
            count += 1
    return count


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of the server and all its processes so far."""
    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def _wrk(args: list[str]) -> dict:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}{done.stderr}")


def _storm_wrk(url: str, frames: str, count: int, seconds: float, connections: int, tag: str):
    serials = os.path.join(frames, f"accepted-{tag}.txt")
    result = _wrk(
        [
            "wrk",
            f"-t{connections}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            os.path.join(HERE, "wrk", "uploads.lua"),
            url,
            "--",
            frames,
            str(count),
            TOKEN,
            tag,
            serials,
        ]
    )
    with open(serials) as handle:
        accepted = Counter(line.strip() for line in handle if line.strip())
    return result, accepted


def _reader_wrk(url: str, seconds: float, interval_ms: float, box: dict) -> None:
    box["result"] = _wrk(
        [
            "wrk",
            "-t1",
            "-c1",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            os.path.join(HERE, "wrk", "reader.lua"),
            url,
            "--",
            TOKEN,
            f"{interval_ms:g}",
        ]
    )


class _PythonUploads:
    """The fallback generator's request ``n`` of process ``w``: as ``uploads.lua`` builds it."""

    def __init__(self, url: str, frames: list[bytes], tag: str) -> None:
        self.url, self.frames, self.tag = url, frames, tag
        self.headers = {"Authorization": f"Token {TOKEN}"}

    def __call__(self, worker: int, n: int) -> tuple[bytes, str]:
        serial = f"{self.tag}-{worker}-{n:06d}"
        image = unique_bytes(self.frames[n % len(self.frames)], f"{worker}:{n}".encode())
        body, content_type = multipart(
            {"camera_id": serial}, {"upload": ("frame.jpg", image, "image/jpeg")}
        )
        return loadgen.post_request(self.url, body, content_type, self.headers), serial


def _storm_python(url: str, frames: str, count: int, seconds: float, connections: int, tag: str):
    images = []
    for i in range(count):
        with open(os.path.join(frames, f"frame-{i:03d}.jpg"), "rb") as handle:
            images.append(handle.read())
    processes = 2
    result = loadgen.run(
        url,
        _PythonUploads(url, images, tag),
        seconds=seconds,
        processes=processes,
        connections=max(1, connections // processes),
        warmup=0.0,
    )
    summary = {
        "seconds": result.seconds,
        "p50_ms": result.percentile(0.5),
        "p99_ms": result.percentile(0.99),
        "statuses": {str(code): n for code, n in result.statuses.items()},
        "errors": {"connect": result.errors},
    }
    return summary, Counter(result.accepted)


def run_phase(args, frames: str, count: int, with_reader: bool, use_wrk: bool) -> Phase:
    tag = "R" if with_reader else "U"
    connections = _connections(args)
    generator = "wrk + Lua" if use_wrk else "Python generator (wrk missing)"
    with LiveServer(workers=args.workers, seed="none") as server:
        control = Control(server.url)
        licenses = {
            row["code"]: row["id"] for row in control.seed(seed())["accounts"][0]["licenses"]
        }
        control.real_time()
        upload_url = f"{server.url}/v1/vision-alert/create-log/"
        reader_url = f"{server.url}/v1/vision-alert/{licenses[READ_LICENSE]}/cameras/"
        box: dict = {}
        reader = None
        if with_reader and use_wrk:
            reader = threading.Thread(
                target=_reader_wrk,
                args=(reader_url, args.duration, 1000.0 / args.reader_rate, box),
            )
        log(
            f"row 4: {generator}, {connections} connections, {args.duration:g} s, "
            f"{args.workers} server workers" + (", with a 50-camera reader" if with_reader else "")
        )
        cpu_before = server_cpu_seconds(server.process.pid)
        if reader is not None:
            reader.start()
        storm = _storm_wrk if use_wrk else _storm_python
        summary, accepted = storm(upload_url, frames, count, args.duration, connections, tag)
        if reader is not None:
            reader.join()
        cpu = server_cpu_seconds(server.process.pid) - cpu_before
        log(f"row 4: {sum(accepted.values())} accepted; advancing the clock an hour, counting")
        control.advance(3600)
        report = verify(server.url, TOKEN, Ledger(uploads=accepted), patience=60.0)
    total = sum(accepted.values())
    return Phase(
        generator=generator,
        seconds=summary["seconds"],
        accepted=total,
        p50_ms=summary["p50_ms"],
        p99_ms=summary["p99_ms"],
        statuses=summary["statuses"],
        errors=sum(summary["errors"].values()),
        lost=sum(report.lost_uploads.values()),
        duplicated=sum(report.duplicated_uploads.values()),
        cpu_ms_per_upload=cpu * 1000 / total if total else float("nan"),
        reader=box.get("result"),
    )


def row_uploads_wrk(args) -> tuple[Row, list[Phase]]:
    """Both phases; the bench table's row 4."""
    use_wrk = shutil.which("wrk") is not None
    if not use_wrk:
        log(WRK_HINT + "; falling back to the Python load generator (labelled as such)")
    frames = tempfile.mkdtemp(prefix="bench-frames-")
    try:
        count = write_frames(frames)
        phases = [run_phase(args, frames, count, False, use_wrk)]
        if use_wrk:
            phases.append(run_phase(args, frames, count, True, use_wrk))
        else:
            log("row 4: the reader phase needs wrk; skipped")
    finally:
        shutil.rmtree(frames, ignore_errors=True)
    alone = phases[0]
    beside = phases[1] if len(phases) > 1 else None
    measured = f"{alone.line()}"
    result = f"{alone.rate:,.0f}/s, {alone.lost} lost, {alone.duplicated} duplicated"
    if beside is not None:
        measured += f" || with a reader: {beside.line()}"
        result += f"; with reader {beside.rate:,.0f}/s, reader p99 {beside.reader['p99_ms']:.0f} ms"
    row = Row(
        4,
        f"create-log storm, {alone.generator}, {_connections(args)} connections, "
        f"{args.duration:g} s, 1080p, distinct bytes, new camera each",
        measured,
        f"{args.workers} server workers",
        result,
        TARGET,
        all(phase.met() for phase in phases) and use_wrk,
    )
    return row, phases


def _connections(args) -> int:
    """``--connections`` here, ``--upload-connections`` in ``bench.py``."""
    return getattr(args, "upload_connections", None) or args.connections


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--connections", type=int, default=8, help="upload connections")
    parser.add_argument("--reader-rate", type=float, default=10.0, help="reader requests/s")
    parser.add_argument("--workers", type=int, default=default_workers(), help="server workers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    row, phases = row_uploads_wrk(args)
    print(
        f"mockserver upload storm, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M:%S')}, "
        f"load average {load_before[0]:.2f} before / {os.getloadavg()[0]:.2f} after"
    )
    for phase, name in zip(phases, ("uploads alone", "beside a 50-camera reader"), strict=False):
        print(f"{name:>26}: {phase.line()}")
    print(f"target: {TARGET} -> {'met' if row.met else 'NOT met'}")
    return 0 if row.met else 1


if __name__ == "__main__":
    sys.exit(main())
