"""Real clients against a live emulator (``mockserver serve``, two worker processes).

``GateClient`` is written the way public ParkPow integrations are: one ``requests.Session``
with the token header, ``.json()`` on every reply, a retry on 429 and 5xx (1 s wait, up to
5 times), ``log-vehicle`` both as multipart (file-transfer tools) and as JSON with a
base64 image and a ``time`` (camera bridges).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime

import pytest
import requests

from mockserver.testkit.plugin import LiveServer

from .parkpow_support import jpeg, parkpow_seed, result


class GateClient:
    RETRY_STATUSES = {429, 500, 502, 503, 504}

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Token {token}"})
        self.retries = 0

    def _post(self, path: str, **kwargs):
        for attempt in range(6):
            reply = self.session.post(self.base_url + path, timeout=30, **kwargs)
            if reply.status_code not in self.RETRY_STATUSES or attempt == 5:
                break
            self.retries += 1
            time.sleep(1)
        reply.raise_for_status()
        return reply.json()

    def create_camera(self, code: str, name: str, kind: str):
        return self._post("/api/v1/create-camera/", data={"code": code, "name": name, "type": kind})

    def entrance(self, camera: str, plate: str, image: bytes):
        """As the file-transfer tool: multipart, results a JSON string, no trailing slash."""
        results = json.dumps([result(plate.lower())])
        return self._post(
            "/api/v1/log-vehicle",
            data={"camera": camera, "results": results},
            files={"image": ("plate.jpg", image, "application/octet-stream")},
        )

    def exit(self, camera: str, plate: str, image: bytes):
        """As camera bridges: JSON, base64 image, ``time`` with a numeric offset."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f%z")
        body = {
            "camera": camera,
            "image": base64.b64encode(image).decode(),
            "results": [result(plate, score=0.97)],
            "time": stamp,
        }
        return self._post("/api/v1/log-vehicle/", json=body)

    def visits(self, **period):
        reply = self.session.get(self.base_url + "/api/v1/visit-list/", params=period, timeout=30)
        reply.raise_for_status()
        return reply.json()


@pytest.fixture(scope="module")
def live():
    with LiveServer(workers=2, seed="none") as server:
        yield server


def account(server: LiveServer, token: str) -> GateClient:
    """A fresh ParkPow account of its own, so tests never see each other's visits."""
    seeded = requests.post(server.url + "/_mock/seed", json=parkpow_seed(token=token), timeout=30)
    assert seeded.status_code == 201, seeded.text
    return GateClient(server.url, token)


def test_a_gate_for_50_vehicles(live):
    client = account(live, "gate-50")
    assert client.create_camera("gate-in", "Gate in", "ENTRANCE")["type"] == "ENTRANCE"
    assert client.create_camera("gate-out", "Gate out", "EXIT")["type"] == "EXIT"
    plates = [f"GT{i:03d}X" for i in range(50)]
    images = [jpeg(shade=i * 4) for i in range(50)]
    for plate, image in zip(plates, images, strict=True):
        assert client.entrance("gate-in", plate, image) == "OK"
    for plate, image in zip(reversed(plates), reversed(images), strict=True):
        assert client.exit("gate-out", plate, image) == "OK"
    listed = client.visits()
    assert client.retries == 0
    assert sorted(v["vehicle"]["license_plate"] for v in listed) == plates
    for visit in listed:
        assert visit["start_cam"]["code"] == "gate-in" and visit["end_cam"]["code"] == "gate-out"
        assert visit["end_date"] != "None" and isinstance(visit["duration"], float)
        assert visit["start_img"].startswith(live.url + "/media/parkpow/")
    starts = [v["start_date"] for v in listed]
    assert starts == sorted(starts, reverse=True)
    image = client.session.get(listed[0]["end_img"], timeout=30)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"


def test_parallel_gates_never_open_two_visits(live):
    """Many threads (over two worker processes) sight the same plates at once."""
    client = account(live, "parallel")
    client.create_camera("par-in-1", "Parallel in 1", "ENTRANCE")
    client.create_camera("par-in-2", "Parallel in 2", "ENTRANCE")
    client.create_camera("par-spot", "Parallel spot", "SPOT")
    plates = ["PAR001", "PAR002", "PAR003"]
    image = jpeg(shade=7)
    errors: list[BaseException] = []

    def gate(camera: str) -> None:
        worker = GateClient(live.url, "parallel")
        try:
            for _ in range(4):
                for plate in plates:
                    assert worker.entrance(camera, plate, image) == "OK"
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=gate, args=(camera,))
        for camera in ("par-in-1", "par-in-2", "par-spot") * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    listed = client.visits()
    assert sorted(v["vehicle"]["license_plate"] for v in listed) == plates
    assert all(v["end_date"] == "None" for v in listed)
