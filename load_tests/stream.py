"""Plate Recognizer Stream cameras posting webhooks to ParkPow, and ParkPow's own tools reading.

    locust -f load_tests/stream.py --host http://127.0.0.1:8000 --token demo-token \
        --emulator --time-scale 90 --headless -u 40 -r 10 -t 2m

Each ``StreamVehicleUser`` is one vehicle passing the gate cameras, as the gate profile's
vehicles do, but seen through Stream: every pass is a ``recognition`` webhook to
``webhook-receiver/`` — multipart ``json`` + ``upload`` (Stream's ``image = yes``, 80 %) or
the data-only form field ``json`` (20 %) — stamped with the camera's time. ``ToolsUser`` is
ParkPow's CSV upload tool looking a sighting up in a one-second window and its cleanup tool
paging the live visit-list (read-only here: nothing is deleted under load).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote_plus

from locust import FastHttpUser, between, task

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from load_tests import gate, ledger  # noqa: E402
from load_tests.bodies import multipart  # noqa: E402
from load_tests.images import unique_bytes  # noqa: E402
from load_tests.options import plan, token_header  # noqa: E402

API = "/api/v1"
CREATED_OR_UPDATED = ("Created", "Updated", "Closed")


class StreamVehicleUser(FastHttpUser):
    """One vehicle through the gate, its passes reported by a Stream camera's webhooks.

    The gate profile's vehicle (cameras, plate, dwell, results) without its task: a
    subclass would inherit its log-vehicle task too.
    """

    weight = 3
    on_start = gate.VehicleUser.on_start
    wait_time = gate.VehicleUser.wait_time
    results = gate.VehicleUser.results

    @task
    def pass_gate(self) -> None:
        camera, kind = (self.exit, "exit") if self.inside else (self.entrance, "entrance")
        stamp = datetime.fromtimestamp(time.time() + self.run.clock_offset, UTC)
        if self.send_webhook(camera, stamp, with_image=self.rng.random() < 0.8):
            self.inside = not self.inside
            ledger.sighting_accepted(
                self.plate, camera, kind, stamp.strftime("%Y-%m-%d %H:%M:%S.%f%z")
            )

    def payload(self, camera: str, stamp: datetime) -> dict:
        return {
            "hook": {"target": f"{API}/webhook-receiver/", "id": camera, "event": "recognition"},
            "data": {
                "camera_id": camera,
                "timestamp": stamp.isoformat().replace("+00:00", "Z"),
                "timestamp_local": stamp.isoformat(sep=" "),
                "timestamp_camera": None,
                "results": [
                    {
                        **self.results()[0],
                        "dscore": 0.8,
                        "color": [{"color": "white", "score": 0.7}],
                        "orientation": [{"orientation": "Front", "score": 0.9}],
                        "direction": self.rng.randrange(360),
                    }
                ],
            },
        }

    def send_webhook(self, camera: str, stamp: datetime, with_image: bool) -> bool:
        text = json.dumps(self.payload(camera, stamp))
        if with_image:
            image = unique_bytes(self.frame, uuid.uuid4().bytes)
            body, content_type = multipart(
                {"json": text}, {"upload": ("taxi.jpg", image, "image/jpeg")}
            )
            name = "webhook-receiver (multipart)"
        else:
            body = "json=" + quote_plus(text)
            body, content_type = body.encode(), "application/x-www-form-urlencoded"
            name = "webhook-receiver (data only)"
        headers = {**self.headers, "Content-Type": content_type}
        with self.client.post(
            f"{API}/webhook-receiver/", data=body, headers=headers, name=name, catch_response=True
        ) as reply:
            answers = reply.json() if reply.status_code == 200 else None
            if (
                isinstance(answers, list)
                and answers
                and "id" in answers[0]
                and answers[0].get("status", "").startswith(CREATED_OR_UPDATED)
            ):
                reply.success()
                return True
            reply.failure(f"{reply.status_code} {(reply.text or '')[:200]}")
            return False


class ToolsUser(FastHttpUser):
    """ParkPow's CSV upload tool (one-second lookups) and cleanup tool (live paging)."""

    weight = 1
    wait_time = between(2, 6)

    def on_start(self) -> None:
        self.run = plan(self.environment)
        self.headers = token_header(self.environment)

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.run.clock_offset, UTC)

    @task(3)
    def look_a_sighting_up(self) -> None:
        at = self.now() - timedelta(seconds=30)
        params = {
            "plate": "ABC",
            "start": at.strftime("%Y-%m-%dT%H:%M:%S"),
            "end": (at + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S"),
        }
        self.read_page(params, "visit-list (live, one-second window)")

    @task(1)
    def page_recent_visits(self) -> None:
        params = {"start": (self.now() - timedelta(days=1)).date().isoformat(),
                  "ordering": "start_date"}  # fmt: skip
        for page in range(1, 6):  # the cleanup tool follows next; a bounded walk under load
            body = self.read_page(params, "visit-list (live, paging)")
            if not body or not body.get("next"):
                return
            params["page"] = str(page + 1)

    def read_page(self, params: dict, name: str) -> dict | None:
        with self.client.get(
            f"{API}/visit-list/", params=params, headers=self.headers, name=name,
            catch_response=True,
        ) as reply:  # fmt: skip
            body = reply.json() if reply.status_code == 200 else None
            if isinstance(body, dict) and {"estimated_count", "next", "results"} <= set(body):
                reply.success()
                return body
            reply.failure(f"{reply.status_code} {(reply.text or '')[:200]}")
            return None
