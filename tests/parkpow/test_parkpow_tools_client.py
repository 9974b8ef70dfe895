"""ParkPow's own tools, rewritten the way they are written, against a live two-worker server.

* ``StreamCamera`` posts what Plate Recognizer Stream posts to ``webhook-receiver/``
  (multipart ``json`` + ``upload``, several plate reads per frame, back-dated timestamps).
* ``CsvUploader`` is the CSV upload tool: before logging a row it looks the sighting up with
  ``visit-list/?plate=&start=&end=`` in a one-second window, reading ``estimated_count`` and
  ``results``, and compares plate and camera itself.
* ``OldVisitsCleaner`` is the cleanup tool: ``visit-list/?start=<date>&ordering=start_date``,
  the page number taken from ``next`` until it is null, then ``delete-visit/`` per visit.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from mockserver.testkit.plugin import LiveServer

from .parkpow_support import jpeg, parkpow_seed

NOW = datetime(2026, 4, 10, 14, 30, tzinfo=UTC)


class ParkPowSession:
    """``requests.Session`` with the token header; a non-2xx reply is an error."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url  # .../api/v1/
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Token {token}"})

    def get(self, path: str, params: dict) -> dict:
        reply = self.session.get(self.api_url + path, params=params, timeout=30)
        if not 200 <= reply.status_code < 300:
            raise RuntimeError(f"{path}: {reply.status_code} {reply.text}")
        return reply.json()

    def post(self, path: str, **kwargs):
        reply = self.session.post(self.api_url + path, timeout=30, **kwargs)
        if not 200 <= reply.status_code < 300:
            raise RuntimeError(f"{path}: {reply.status_code} {reply.text}")
        return reply.json()


class StreamCamera:
    def __init__(self, api: ParkPowSession, camera_id: str) -> None:
        self.api, self.camera_id = api, camera_id

    def recognise(self, plates: list[str], at: datetime, image: bytes) -> list[dict]:
        payload = {
            "hook": {"target": self.api.api_url + "webhook-receiver/", "id": self.camera_id,
                     "event": "recognition"},
            "data": {
                "camera_id": self.camera_id,
                "timestamp": at.isoformat().replace("+00:00", "Z"),
                "timestamp_local": at.strftime("%Y-%m-%d %H:%M:%S.%f%z"),
                "results": [{"plate": plate.lower(), "score": 0.9, "dscore": 0.8,
                             "box": {"xmin": 1, "ymin": 2, "xmax": 30, "ymax": 40},
                             "color": [{"color": "white", "score": 0.8}]} for plate in plates],
            },
        }  # fmt: skip
        return self.api.post(
            "webhook-receiver/",
            data={"json": json.dumps(payload)},
            files={"upload": ("image.jpg", image, "image/jpeg")},
        )


class CsvUploader:
    def __init__(self, api: ParkPowSession) -> None:
        self.api = api
        self.skipped = self.uploaded = 0

    def find_visit(self, plate: str, camera: str, at: datetime) -> dict | None:
        start = at.strftime("%Y-%m-%dT%H:%M:%S")
        end = (at + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
        data = self.api.get("visit-list/", {"plate": plate, "start": start, "end": end})
        if data["estimated_count"] == 0:
            return None
        for visit in data["results"]:
            if visit["vehicle"]["license_plate"] == plate and visit["start_cam"]["code"] == camera:
                return visit
        return None

    def upload(self, plate: str, camera: str, at: datetime, image: bytes) -> None:
        if self.find_visit(plate, camera, at) is not None:
            self.skipped += 1
            return
        body = {
            "camera": camera,
            "image": base64.b64encode(image).decode(),
            "results": [{"plate": plate.lower(), "score": 0.95}],
            "time": at.strftime("%Y-%m-%d %H:%M:%S.%f%z"),
        }
        assert self.api.post("log-vehicle/", json=body) == "OK"
        self.uploaded += 1


class OldVisitsCleaner:
    def __init__(self, api: ParkPowSession) -> None:
        self.api = api

    def list_visits(self, since: str, page: str | None = None) -> dict:
        params = {"start": since, "ordering": "start_date"}
        if page:
            params["page"] = page
        return self.api.get("visit-list/", params)

    def run(self, today: datetime, max_age: int) -> tuple[int, int, int]:
        """Returns (pages read, estimated_count, visits removed)."""
        since = (today.date() - timedelta(days=max_age)).isoformat()
        visits = self.list_visits(since)
        collected, pages = [], 1
        while True:
            collected.extend(visits["results"])
            if not visits["next"]:
                break
            page = parse_qs(urlparse(visits["next"]).query)["page"][0]
            visits = self.list_visits(since, page)
            pages += 1
        removed = 0
        for visit in collected:
            self.api.post("delete-visit/", json={"id": visit["id"]})
            removed += 1
        return pages, visits["estimated_count"], removed


@pytest.fixture(scope="module")
def live():
    with LiveServer(workers=2, seed="none") as server:
        reply = requests.post(server.url + "/_mock/seed", json=parkpow_seed(token="tools"))
        assert reply.status_code == 201, reply.text
        reply = requests.post(server.url + "/_mock/clock", json={"set": NOW.isoformat()})
        assert reply.status_code == 200, reply.text
        yield server


def test_stream_csv_upload_and_cleanup_tools(live):
    api = ParkPowSession(live.url + "/api/v1/", "tools")
    camera = StreamCamera(api, "101")
    image = jpeg(shade=40)
    # 12 days of history: 12 frames ten days ago, 12 frames two days ago, 10 plates each
    old_day, recent_day = NOW - timedelta(days=10), NOW - timedelta(days=2)
    opened = []
    for day, prefix in ((old_day, "OLD"), (recent_day, "NEW")):
        for frame in range(12):
            plates = [f"{prefix}{frame:02d}{i}" for i in range(10)]
            replies = camera.recognise(plates, day + timedelta(minutes=frame), image)
            assert [r["status"] for r in replies] == ["Created - New visit created"] * 10
            opened += [r["id"] for r in replies]
    assert len(set(opened)) == 240

    uploader = CsvUploader(api)
    # a row Stream already delivered (same plate, camera, second) is found and skipped
    uploader.upload("NEW000", "101", recent_day, image)
    # rows it did not: uploaded through log-vehicle, then found on a second run
    for minute in range(3):
        uploader.upload(f"CSV{minute}", "202", recent_day + timedelta(minutes=minute), image)
    for minute in range(3):
        uploader.upload(f"CSV{minute}", "202", recent_day + timedelta(minutes=minute), image)
    assert (uploader.skipped, uploader.uploaded) == (4, 3)

    cleaner = OldVisitsCleaner(api)
    pages, estimated, removed = cleaner.run(NOW, max_age=5)
    assert (pages, estimated, removed) == (2, 123, 123)  # 120 Stream visits + 3 from the CSV
    left = api.get("visit-list/", {"start": "2026-03-01", "ordering": "start_date",
                                   "page_size": "1000"})  # fmt: skip
    assert left["estimated_count"] == 120
    assert {v["vehicle"]["license_plate"][:3] for v in left["results"]} == {"OLD"}
    assert cleaner.run(NOW, max_age=5) == (1, 0, 0)
