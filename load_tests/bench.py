"""The performance table: one command, every row measured in this run on this machine.

    python -m load_tests.bench                     # all rows, 2 x 60 s of uploads
    python -m load_tests.bench --rows 1,3,4        # a subset

Rows (targets from the project's issue):
  1. GET /v1/vision-alert/{id}/cameras/ (50 cameras, real store) vs a bare Flask endpoint
     returning the same JSON on the same WSGI server and worker count: ratio >= 0.5
  2. one page of license logs at 10^3 and at 10^6 logs: ratio <= 1.5
  3. decode+score of a 1920x1080 JPEG vs a full-size Pillow decode: cheaper
  4. a create-log storm through wrk (bench_uploads_wrk): >= 150 accepted/s, p99 < 500 ms,
     0 lost, 0 duplicated; beside it a 50-camera list reader with p99 < 100 ms
  5. peak RSS of the server process tree at 10^6 logs: < 300 MB
"""

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time

import requests

from mockserver.testkit.plugin import LiveServer, free_port

from . import loadgen
from .bench_common import (
    TOKEN,
    PeakRss,
    Row,
    camera_seed,
    closed_loop,
    default_workers,
    fmt_rate,
    log,
)
from .bench_uploads_wrk import row_uploads_wrk
from .control import Control

# -- row 1: overhead against bare Flask ---------------------------------------------------


def row_overhead(args) -> Row:
    what = "GET cameras/ (50) vs bare Flask"
    headers = {"Authorization": f"Token {TOKEN}"}
    with LiveServer(workers=args.workers, seed="none") as server:
        seeded = Control(server.url).seed(camera_seed())
        license_id = seeded["accounts"][0]["licenses"][0]["id"]
        url = f"{server.url}/v1/vision-alert/{license_id}/cameras/"
        reply = requests.get(url, headers=headers, timeout=30)
        if reply.status_code != 200 or len(reply.json().get("results", [])) != 50:
            return Row(1, what, f"cameras/ answered {reply.status_code}", "", "", ">= 0.5", None)
        page_file = os.path.join(tempfile.mkdtemp(prefix="bench-page-"), "page.json")
        with open(page_file, "w") as handle:
            handle.write(reply.text)
        log(f"row 1: emulator ({args.workers} workers), {args.row1_seconds:g} s")
        emulator = closed_loop(url, headers, args.row1_seconds, args.processes, args.connections)
    port = free_port()
    bare = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "load_tests.bare_app",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env={**os.environ, "BARE_PAGE_FILE": page_file},
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        bare_url = f"http://127.0.0.1:{port}/v1/vision-alert/{license_id}/cameras/"
        _wait_ready(bare_url)
        log(f"row 1: bare Flask ({args.workers} workers), {args.row1_seconds:g} s")
        baseline = closed_loop(
            bare_url, headers, args.row1_seconds, args.processes, args.connections
        )
    finally:
        bare.terminate()
        bare.wait(timeout=15)
        shutil.rmtree(os.path.dirname(page_file), ignore_errors=True)
    ratio = emulator.rate / baseline.rate if baseline.rate else 0.0
    failures = emulator.failures + baseline.failures
    result = f"{ratio:.2f}x" + (f" ({failures} failed)" if failures else "")
    return Row(
        1,
        what,
        fmt_rate(emulator),
        fmt_rate(baseline),
        result,
        ">= 0.5x",
        ratio >= 0.5 and not failures,
    )


def _wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


# -- rows 2 and 5: pagination at 10^3 and 10^6 logs, and the server's memory ---------------


def rows_pagination(args) -> list[Row]:
    """Row 2 through ``bench_pagination`` (in-process app, the two stores interleaved);
    row 5 from a real server (``mockserver serve``) on the big store, paged over HTTP."""
    from . import bench_pagination

    small = bench_pagination.prepare(1000)
    large = bench_pagination.prepare(args.logs)
    try:
        names = ("first page", "page at depth n/2", "status=anomaly", "tag=site-b")
        timings = {
            name: bench_pagination.interleaved(small, large, name, args.row2_repeat)
            for name in names
        }
        peak = _server_memory(args, large)
    finally:
        small.close()
        large.close()
    ratios = {name: many.median_ms / few.median_ms for name, (few, many) in timings.items()}
    first_small, first_large = timings["first page"]
    exponent = len(str(args.logs)) - 1
    rows = [
        Row(
            2,
            "license logs, one page (median)",
            f"10^{exponent}: {first_large.median_ms:.2f} ms first page",
            f"10^3: {first_small.median_ms:.2f} ms",
            f"{ratios['first page']:.2f}x (deep/filtered pages: "
            + ", ".join(f"{ratios[n]:.2f}" for n in names[1:])
            + ")",
            "<= 1.5x",
            max(ratios.values()) <= 1.5,
        )
    ]
    mb = peak.peak / 2**20
    rows.append(
        Row(
            5,
            f"peak RSS, server at 10^{exponent} logs",
            f"{mb:,.0f} MB",
            f"{peak.processes} processes ({args.workers} workers), paging {args.row5_seconds:g} s",
            f"{mb:,.0f} MB",
            "< 300 MB",
            mb < 300,
        )
    )
    return rows


def _server_memory(args, target) -> PeakRss:
    """Serve the big store and page through it (first, deep, filtered) while sampling RSS."""
    server = LiveServer(workers=args.workers, seed="none", data_dir=target.workdir)
    server.start(timeout=120)
    try:
        with PeakRss(server.process.pid) as peak:
            urls = [server.url + url for url in target.urls.values()]
            log(f"row 5: paging {len(urls)} kinds of page on {target.logs:,} logs")
            factory = functools.partial(
                _rotate, [loadgen.get_request(u, target.headers) for u in urls]
            )
            result = loadgen.run(
                urls[0], factory, seconds=args.row5_seconds, processes=args.processes, connections=8
            )
            if result.failures:
                log(f"row 5: {result.failures} failed page requests: {result.statuses}")
    finally:
        server.stop()
    return peak


def _rotate(payloads: list[bytes], _worker: int, n: int) -> tuple[bytes, str]:
    return payloads[n % len(payloads)], ""


# -- row 3: analysis against a full decode ---------------------------------------------------


def row_scoring(args) -> Row:
    """Through ``bench_scoring``'s pieces: the labelled 1080p set, fastest of N runs, each
    image's analysis interleaved with its full-size decode."""
    import statistics

    from . import bench_scoring

    directory = os.path.join(tempfile.gettempdir(), "va-bench-1920")
    cases = bench_scoring.generate(directory, 1920)[: args.row3_images]
    files = {}
    for case in cases:
        with open(os.path.join(directory, case.file), "rb") as handle:
            files[case.file] = handle.read()
    references = {case.reference: bench_scoring.analyse(files[case.reference]) for case in cases}
    decode, alone, whole = [], [], []
    for case in cases:
        content = files[case.file]
        signature = bench_scoring.analyse(content).signature
        reference = references[case.reference].signature
        full, analysis, comparison = bench_scoring.fastest(
            [
                lambda content=content: bench_scoring.full_decode(content),
                lambda content=content: bench_scoring.analyse(content),
                lambda s=signature, r=reference: bench_scoring.compare(s, r),
            ],
            5,
        )
        decode.append(full * 1000)
        alone.append(analysis * 1000)
        whole.append((analysis + comparison) * 1000)
    score_ms, decode_ms = statistics.median(whole), statistics.median(decode)
    return Row(
        3,
        "decode+score 1920x1080 JPEG vs full decode",
        f"{score_ms:.1f} ms all four scores (content analysis alone "
        f"{statistics.median(alone):.1f} ms)",
        f"{decode_ms:.1f} ms Pillow full decode",
        f"{score_ms / decode_ms:.2f}x ({len(cases)} images, median)",
        "< 1x",
        score_ms < decode_ms,
    )


# -- the table -------------------------------------------------------------------------------


def print_table(rows: list[Row]) -> None:
    header = ["#", "measurement", "measured", "baseline", "result", "target", "met"]
    table = [header] + [row.cells() for row in sorted(rows, key=lambda r: r.number)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in table[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default="1,2,3,4,5", help="which rows (comma-separated)")
    parser.add_argument("--duration", type=float, default=60.0, help="row 4: seconds per phase")
    parser.add_argument("--upload-connections", type=int, default=8, help="row 4 connections")
    parser.add_argument("--reader-rate", type=float, default=10.0, help="row 4 reader req/s")
    parser.add_argument("--row1-seconds", type=float, default=10.0)
    parser.add_argument("--row2-repeat", type=int, default=200, help="requests per page kind")
    parser.add_argument("--row3-images", type=int, default=40)
    parser.add_argument("--row5-seconds", type=float, default=10.0)
    parser.add_argument("--logs", type=int, default=1_000_000, help="rows 2 and 5: big store")
    parser.add_argument("--workers", type=int, default=default_workers(), help="server workers")
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--connections", type=int, default=16, help="row 1, per process")
    args = parser.parse_args(argv)
    wanted = {int(r) for r in args.rows.split(",") if r.strip()}
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    if 3 in wanted:
        rows.append(row_scoring(args))
    if 1 in wanted:
        rows.append(row_overhead(args))
    if 4 in wanted:
        rows.append(row_uploads_wrk(args)[0])
    if wanted & {2, 5}:
        rows += [row for row in rows_pagination(args) if row.number in wanted]
    print(
        f"mockserver bench, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M:%S')}, "
        f"load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after "
        "(other work on the machine skews every row)"
    )
    print_table(rows)
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
