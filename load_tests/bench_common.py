"""Pieces every benchmark row shares: the table row, the seeded account, load helpers."""

from __future__ import annotations

import functools
import sys
import threading
from dataclasses import dataclass

import psutil

from mockserver.testkit import seeds

from . import loadgen

TOKEN = "bench-token"


@dataclass
class Row:
    number: int
    what: str
    measured: str
    baseline: str
    result: str
    target: str
    met: bool | None  # None: not measured

    def cells(self) -> list[str]:
        mark = {True: "yes", False: "NO", None: "n/a"}[self.met]
        return [
            str(self.number),
            self.what,
            self.measured,
            self.baseline,
            self.result,
            self.target,
            mark,
        ]


def default_workers() -> int:
    """``mockserver serve``'s own default worker count."""
    from mockserver.cli import serve

    return next(p.default for p in serve.params if p.name == "workers")


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _same(payload: bytes, _worker: int, _n: int) -> tuple[bytes, str]:
    return payload, ""


def closed_loop(url: str, headers: dict, seconds: float, processes: int, connections: int):
    request = loadgen.get_request(url, headers)
    factory = functools.partial(_same, request)
    return loadgen.run(url, factory, seconds=seconds, processes=processes, connections=connections)


def fmt_rate(result: loadgen.Result) -> str:
    return (
        f"{result.rate:,.0f} req/s, p50 {result.percentile(0.5):.1f} ms, "
        f"p99 {result.percentile(0.99):.1f} ms"
    )


def camera_seed(cameras: int = 50, fleet: list[dict] | None = None) -> dict:
    """The bench account: one license with room to spare and ``fleet`` as its cameras
    (default: ``cameras`` cameras tagged site-a)."""
    if fleet is None:
        fleet = [
            seeds.camera(f"CAM-{i:03d}", name=f"Camera {i}", tags=["site-a"])
            for i in range(cameras)
        ]
    return seeds.world(
        seeds.account(TOKEN, licenses=[seeds.license("LIC-BENCH", size=100_000, cameras=fleet)])
    )


class PeakRss:
    """Samples the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            total, count = 0, 0
            for proc in [self.root, *self.root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                    count += 1
                except psutil.Error:
                    pass
            if total > self.peak:
                self.peak, self.processes = total, count
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
