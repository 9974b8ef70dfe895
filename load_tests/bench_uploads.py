"""Upload requests for the Python load generator (``profile_server.py uploads``)."""

from __future__ import annotations

from . import loadgen
from .bodies import multipart
from .images import load_scenes, unique_bytes


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
