"""What the metrics cost the upload path: the create-log storm with metrics on and off.

    python -m load_tests.bench_metrics                  # 4 phases of 30 s: off, on, off, on
    python -m load_tests.bench_metrics --duration 15 --rounds 1

The storm of ``bench_uploads_wrk`` (``wrk`` and its Lua script, 1080p frames with distinct
bytes, a new camera each, throttle off), against ``mockserver serve`` started afresh for
each phase with ``MOCKSERVER_METRICS=1`` or ``0``, alternating so that a drift of the
machine's load touches both alike. Printed: each phase's accepted/s, p99 and server CPU per
upload, the ratio of the "on" phases' total rate to the "off" phases', and the median of
each "on" phase's rate over the "off" phase before it (the verdict: >= 0.97; a median,
because on a shared machine one phase can meet a burst of other load),
and, measured in this process (unswayed by other load), the CPU the metrics layer adds to
one counted upload.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

from mockserver.core.tally import FLUSH_SECONDS
from mockserver.testkit.plugin import LiveServer

from .bench_common import default_workers, log
from .bench_uploads_wrk import WRK_HINT, _storm_wrk, seed, server_cpu_seconds, write_frames
from .control import Control

TARGET = 0.97
CALLS = 50_000


def layer_cost_us() -> tuple[float, float]:
    """What the metrics layer adds to one upload, in microseconds of one process's CPU (an
    accepted create-log reply counted ``CALLS`` times: route, duration, outcome, rate,
    against the same reply without the layer), and the milliseconds of one write of a
    process's counts (each process writes at most every ``FLUSH_SECONDS``)."""
    from mockserver import Config, create_app
    from mockserver.control.metrics.layer import RULE, MetricsLayer

    app = create_app(Config(seed="none", tick_seconds=0))
    emulator = app.extensions["mockserver"]
    try:
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint.endswith("create_log"))
        reply = [b'{"message": "Log created successfully."}']

        def accepted(environ, start_response):
            environ[RULE] = rule
            start_response("200 OK", [("Content-Type", "application/json")])
            return reply

        counted = MetricsLayer(accepted, app, emulator)
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": rule.rule}
        timings = {}
        for name, wsgi in (("bare", accepted), ("counted", counted)):
            began = time.process_time()
            for _ in range(CALLS):
                wsgi(dict(environ), lambda status, headers, exc_info=None: None)
            timings[name] = (time.process_time() - began) / CALLS * 1e6
        flushes = 200
        began = time.perf_counter()
        for _ in range(flushes):  # a writer's turn: one request's series, then the write
            counted(dict(environ), lambda status, headers, exc_info=None: None)
            emulator.tally.flush()
        flush_ms = (time.perf_counter() - began) / flushes * 1000
        return timings["counted"] - timings["bare"], flush_ms
    finally:
        emulator.close()


def phase(args, frames: str, count: int, metrics: bool, index: int) -> tuple[float, float, float]:
    """(accepted/s, p99 ms, server CPU ms per accepted upload) of one storm."""
    env = {"MOCKSERVER_METRICS": "1" if metrics else "0"}
    with LiveServer(workers=args.workers, seed="none", env=env) as server:
        control = Control(server.url)
        control.seed(seed())
        control.real_time()
        url = f"{server.url}/v1/vision-alert/create-log/"
        cpu_before = server_cpu_seconds(server.process.pid)
        summary, accepted = _storm_wrk(
            url, frames, count, args.duration, args.connections, f"M{index}"
        )
        cpu = server_cpu_seconds(server.process.pid) - cpu_before
    total = sum(accepted.values())
    rate = total / summary["seconds"]
    cpu_ms = cpu * 1000 / total if total else float("nan")
    log(
        f"metrics {'on ' if metrics else 'off'}: {rate:,.1f} accepted/s, "
        f"p99 {summary['p99_ms']:.0f} ms, server CPU {cpu_ms:.2f} ms/upload"
    )
    return rate, summary["p99_ms"], cpu_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs")
    parser.add_argument("--connections", type=int, default=8, help="upload connections")
    parser.add_argument("--workers", type=int, default=default_workers(), help="server workers")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        log(WRK_HINT)
        return 2
    layer_us, flush_ms = layer_cost_us()
    log(
        f"the metrics layer: {layer_us:.1f} us of CPU per counted upload, {flush_ms:.2f} ms a write"
    )
    frames = tempfile.mkdtemp(prefix="bench-frames-")
    results: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
    try:
        count = write_frames(frames)
        for index in range(args.rounds * 2):
            metrics = index % 2 == 1
            results[metrics].append(phase(args, frames, count, metrics, index))
    finally:
        shutil.rmtree(frames, ignore_errors=True)
    off = sum(rate for rate, _, _ in results[False])
    on = sum(rate for rate, _, _ in results[True])
    ratio = on / off if off else float("nan")
    # the server's CPU per upload: what counting costs, less swayed by a busy machine
    cpu_off = sum(cpu for _, _, cpu in results[False]) / len(results[False])
    cpu_on = sum(cpu for _, _, cpu in results[True]) / len(results[True])
    print(
        f"mockserver metrics cost, {os.cpu_count()} CPUs, {args.workers} workers, "
        f"{args.connections} connections, {args.rounds} x (off, on) x {args.duration:g} s, "
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}"
    )
    for metrics in (False, True):
        rates = ", ".join(
            f"{rate:,.1f}/s (p99 {p99:.0f} ms, CPU {cpu:.2f} ms/upload)"
            for rate, p99, cpu in results[metrics]
        )
        print(f"  metrics {'on ' if metrics else 'off'}: {rates}")
    print(f"  server CPU per upload, off / on = {cpu_off / cpu_on:.3f}")
    print(
        f"  the metrics layer alone: {layer_us:.1f} us of CPU per upload, "
        f"{layer_us / 1000 / cpu_off:.2%} of an upload's {cpu_off:.2f} ms; "
        f"writing the counts: {flush_ms:.2f} ms per worker per {FLUSH_SECONDS:g} s "
        f"({flush_ms / 1000 / FLUSH_SECONDS:.1%} of a core, whatever the rate)"
    )
    # each "on" phase against the "off" phase just before it: the median of these ratios
    # is what a burst of the machine's other load during one phase cannot swing
    pairs = sorted(
        on_[0] / off_[0] for off_, on_ in zip(results[False], results[True], strict=True)
    )
    median = statistics.median(pairs)
    print(f"  on / off, all phases' rates = {ratio:.3f}")
    print(
        f"  on / off, median of the pairs ({', '.join(f'{p:.3f}' for p in pairs)}) = "
        f"{median:.3f} (target >= {TARGET}) -> {'met' if median >= TARGET else 'NOT met'}"
    )
    return 0 if median >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
