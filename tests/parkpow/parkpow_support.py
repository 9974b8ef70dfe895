"""Helpers shared by the ParkPow tests: a seeded account, images, log-vehicle requests."""

from __future__ import annotations

import base64
import json
import re

import requests

from mockserver.testkit import seeds

from ..conftest import auth
from ..images import solid

TOKEN = "pp-a"
OTHER = "pp-b"
HEADERS = auth(TOKEN)
START = "2026-04-10T14:30:00Z"  # the frozen clock of every flow test
START_NAIVE = "2026-04-10T14:30:00.000000"
NAIVE_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
MEDIA_URL = re.compile(r"^http://localhost/media/parkpow/[0-9a-f]{32}\.(jpg|png)$")


def parkpow_seed(absent_timer: int = 3, token: str = TOKEN) -> dict:
    """The seed's parking-list example as state, plus the example's imported vehicle."""

    def gate(code: str, kind: str) -> dict:
        return seeds.parking_camera(code, name=f"cam-{code}", type=kind, notes="notes")

    return seeds.world(
        seeds.account(
            token,
            products=["parkpow"],
            rate_limit_per_second=1,
            parkings=[
                seeds.parking(
                    "first-parking",
                    parking_spaces=100,
                    absent_timer=absent_timer,
                    cameras=[gate("101", "ENTRANCE"), gate("102", "EXIT")],
                ),
                seeds.parking(
                    "second-parking",
                    parking_spaces=120,
                    absent_timer=absent_timer,
                    cameras=[gate("202", "ENTRANCE")],
                ),
            ],
            vehicles=[seeds.vehicle("QWE1234", payment_status="0")],
        )
    )


def seed(client, absent_timer: int = 3, token: str = TOKEN, at: str | None = START) -> None:
    reply = client.post("/_mock/seed", json=parkpow_seed(absent_timer, token))
    assert reply.status_code == 201, reply.json
    if at is not None:
        assert client.post("/_mock/clock", json={"set": at}).status_code == 200


def jpeg(width: int = 96, height: int = 64, shade: int = 128) -> bytes:
    return solid((width, height), (shade, shade, shade))


def result(plate: str, score: float = 0.9) -> dict:
    return {
        "box": {"xmin": 10, "ymin": 20, "xmax": 60, "ymax": 40},
        "plate": plate,
        "score": score,
        "dscore": 0.8,
    }


def b64_jpeg() -> str:
    return base64.b64encode(jpeg()).decode()


def log_json(
    client,
    camera: str,
    plates,
    time: str | None = None,
    token: str = TOKEN,
    path: str = "/api/v1/log-vehicle/",
):
    """log-vehicle the way JSON bridges send it (base64 image, results list, time)."""
    body = {
        "camera": camera,
        "image": b64_jpeg(),
        "results": [result(p) if isinstance(p, str) else p for p in plates],
    }
    if time is not None:
        body["time"] = time
    return client.post(path, json=body, headers=auth(token))


def multipart(data: dict, files: dict, url: str = "http://testserver/") -> tuple[bytes, str]:
    """Encode a body exactly as ``requests`` does (the seed's Python example)."""
    prepared = requests.Request("POST", url, data=data, files=files).prepare()
    return prepared.body, prepared.headers["Content-Type"]


def log_multipart(client, camera: str, plates, path: str = "/api/v1/log-vehicle", token=TOKEN):
    """log-vehicle the way the file-transfer tool sends it (``results`` as a JSON string)."""
    results = json.dumps([result(p) if isinstance(p, str) else p for p in plates])
    body, content_type = multipart(
        {"camera": camera, "results": results},
        {"image": ("plate.jpg", jpeg(), "application/octet-stream")},
    )
    return client.post(path, data=body, content_type=content_type, headers=auth(token))


def visits(client, token: str = TOKEN, **period) -> list[dict]:
    reply = client.get("/api/v1/visit-list/", query_string=period, headers=auth(token))
    assert reply.status_code == 200, reply.json
    return reply.json


def advance(client, seconds: float) -> None:
    assert client.post("/_mock/clock", json={"advance": seconds}).status_code == 200
