"""Bench row 4: sustained create-log throughput with 1080p JPEGs, p99, and lost writes."""

from __future__ import annotations

from collections import Counter

from mockserver.testkit.plugin import LiveServer

from . import loadgen
from .bench_common import TOKEN, Row, camera_seed, default_workers, log
from .bodies import multipart
from .control import Control
from .images import load_scenes, unique_bytes
from .verify import Ledger, verify


class UploadFactory:
    """Request ``n`` of worker ``w``: the next camera of the worker's own round-robin set,
    a 1080p frame (mostly normal, some anomalies) made unique by a JPEG comment."""

    def __init__(self, url: str, token: str, cameras: int, width: int) -> None:
        self.url = url
        self.headers = {"Authorization": f"Token {token}"}
        self.cameras = cameras
        self.width = width
        self.frames: list[list[bytes]] | None = None

    def _load(self) -> list[list[bytes]]:
        frames = []
        for scene in load_scenes(self.width):
            mix = [scene.reference] * 6 + scene.frames["normal"] * 2
            for kind in ("blur", "obstruction", "glare", "shift"):
                mix.append(scene.frames[kind][0])
            frames.append(mix)
        return frames

    def __call__(self, worker: int, n: int) -> tuple[bytes, str]:
        if self.frames is None:
            self.frames = self._load()
        camera = n % self.cameras
        serial = f"B{worker}-{camera:05d}"
        scene = self.frames[camera % len(self.frames)]
        # a camera's first upload is its reference frame
        frame = scene[0] if n < self.cameras else scene[(n // self.cameras) % len(scene)]
        image = unique_bytes(frame, f"{worker}:{n}".encode())
        body, content_type = multipart(
            {"camera_id": serial}, {"upload": ("frame.jpg", image, "image/jpeg")}
        )
        return loadgen.post_request(self.url, body, content_type, self.headers), serial


def row_uploads(args) -> Row:
    offered = f"{args.upload_rate:g}/s offered" if args.upload_rate else "closed loop"
    what = f"create-log 1080p, {offered}, {args.duration:g} s"
    target = f">= {args.upload_rate or 111:g}/s, p99 < 500 ms, 0 lost"
    workers = default_workers()
    window = 5.0
    # each camera of a worker uploads every `per_worker / rate_per_worker` s: 3 windows
    rate = args.upload_rate or 111.0  # closed loop: size the camera set as for 111/s
    per_worker = int(rate / args.processes * window * 3) + 1
    load_scenes(1920)  # generate the frames before the clock starts
    with LiveServer(workers=workers, seed="none") as server:
        control = Control(server.url)
        control.seed(camera_seed(0))
        control.real_time()
        control.update_settings(camera_window=window, offline_after=10 * 365 * 86400)
        url = f"{server.url}/v1/vision-alert/create-log/"
        log(
            f"row 4: {workers} server workers, {args.upload_rate:g} uploads/s for {args.duration:g} s"
        )
        factory = UploadFactory(url, TOKEN, per_worker, 1920)
        result = loadgen.run(
            url,
            factory,
            seconds=args.duration,
            processes=args.processes,
            connections=args.upload_connections,
            rate=args.upload_rate or None,
            warmup=2.0,
        )
        log("row 4: settling the clock and counting logs")
        control.advance(3600)
        ledger = Ledger(uploads=Counter(result.accepted))
        report = verify(server.url, TOKEN, ledger, patience=60.0)
    accepted = result.accepted
    lost = sum(report.lost_uploads.values())
    duplicated = sum(report.duplicated_uploads.values())
    ok_replies = sum(n for code, n in result.statuses.items() if 200 <= code < 300)
    sustained = ok_replies / result.seconds if result.seconds else 0.0
    p99 = result.percentile(0.99)
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(result.statuses.items()))
    measured = (
        f"{sustained:,.1f} accepted/s, p50 {result.percentile(0.5):.0f} ms, p99 {p99:.0f} ms"
        f" ({codes}; {result.errors} conn errors)"
    )
    verdict = f"{sum(accepted.values())} accepted, {lost} lost, {duplicated} duplicated"
    if report.late_uploads:
        verdict += f", {report.late_uploads} late (not yet visible when the advance returned)"
    met = (
        sustained >= (args.upload_rate or 111.0) * 0.99
        and p99 < 500
        and lost == 0
        and duplicated == 0
        and result.failures == 0
    )
    return Row(4, what, measured, f"{workers} server workers", verdict, target, met)
