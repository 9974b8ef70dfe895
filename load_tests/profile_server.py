"""Where a server's time goes under load: py-spy over every worker, summarised as text.

    python -m load_tests.profile_server cameras --seconds 10
    python -m load_tests.profile_server uploads --seconds 20 --rate 111

Starts the emulator (``mockserver serve``, default workers), drives one bench workload with
the bench's load generator and samples all server processes with ``py-spy record``
(``pip install py-spy``; not a project dependency). Prints the functions with the largest
share of samples, inclusive ("total") and exclusive ("self").
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time

from mockserver.testkit.plugin import LiveServer

from . import bench_common as bench
from . import loadgen
from .bench_uploads import UploadFactory
from .control import Control


def summarise(raw_path: str, top: int, focus: str | None = None) -> str:
    """Collapsed stacks (``a;b;c count``) -> the top frames by inclusive and self samples."""
    total = 0
    inclusive: collections.Counter = collections.Counter()
    exclusive: collections.Counter = collections.Counter()
    with open(raw_path) as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            n = int(count)
            frames = [_short(f) for f in stack.split(";")]
            if focus and not any(focus in f for f in frames):
                continue
            total += n
            for frame in set(frames):
                inclusive[frame] += n
            exclusive[frames[-1]] += n
    if not total:
        return "no samples"
    lines = [f"{total} samples" + (f" (stacks through {focus!r})" if focus else "")]
    lines.append(f"{'total':>7} {'self':>7}  function")
    for frame, n in inclusive.most_common(top):
        lines.append(f"{n / total:7.1%} {exclusive[frame] / total:7.1%}  {frame}")
    lines.append("top self:")
    for frame, n in exclusive.most_common(top // 2):
        lines.append(f"{n / total:7.1%}  {frame}")
    return "\n".join(lines)


def _short(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``func (file.py:12)`` without site-packages noise."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    where = where.rsplit(":", 1)[0] if where.count(":") else where
    return f"{name} ({where})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=("cameras", "uploads"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=111.0, help="uploads/s (uploads workload)")
    parser.add_argument("--workers", type=int, default=bench.default_workers())
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--focus",
        default="granian/wsgi.py",
        help="only stacks through this text (default: request threads; '' for all)",
    )
    parser.add_argument("--rate-hz", type=int, default=250, help="py-spy samples per second")
    parser.add_argument(
        "--all-threads",
        action="store_true",
        help="sample threads waiting for the GIL too (default: only the thread holding it)",
    )
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(spy):
        parser.error("py-spy is not installed (pip install py-spy)")
    raw = os.path.join(tempfile.mkdtemp(prefix="profile-"), "stacks.txt")
    with LiveServer(workers=args.workers, seed="none") as server:
        control = Control(server.url)
        seeded = control.seed(bench.camera_seed())
        license_id = seeded["accounts"][0]["licenses"][0]["id"]
        headers = {"Authorization": f"Token {bench.TOKEN}"}
        if args.workload == "cameras":
            url = f"{server.url}/v1/vision-alert/{license_id}/cameras/"
            factory = functools.partial(bench._same, loadgen.get_request(url, headers))
            rate = None
        else:
            control.real_time()
            control.update_settings(camera_window=5.0, offline_after=10 * 365 * 86400)
            url = f"{server.url}/v1/vision-alert/create-log/"
            factory = UploadFactory(url, bench.TOKEN, int(args.rate * 8) + 1, 1920)
            rate = args.rate or None
        recorder = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(server.process.pid),
                "--subprocesses",
                "--idle",
                "--rate",
                str(args.rate_hz),
                "--duration",
                str(int(args.seconds) + 2),
                "--format",
                "raw",
                "--output",
                raw,
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)
        result = loadgen.run(
            url,
            factory,
            seconds=args.seconds,
            processes=2,
            connections=16 if rate is None else 48,
            rate=rate,
        )
        recorder.wait(timeout=60)
    print(f"{args.workload}: {bench.fmt_rate(result)}; statuses {result.statuses}")
    print(summarise(raw, args.top, args.focus or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
