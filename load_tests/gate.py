"""Parking gate: vehicles in and out through ENTRANCE/EXIT cameras, a back office reading visits.

    locust -f load_tests/gate.py --host http://127.0.0.1:8000 --token demo-token \
        --emulator --time-scale 90 --headless -u 40 -r 10 -t 2m

``log-vehicle`` goes out in both encodings real integrations use (README, "ParkPow
(emulator-defined)"): multipart (``image`` file, ``results`` JSON string, ``camera``) and
JSON (base64 ``image``, ``results``, ``time`` as ``%Y-%m-%d %H:%M:%S.%f%z``).
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from locust import FastHttpUser, between, task

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from load_tests import ledger  # noqa: E402
from load_tests.bodies import multipart  # noqa: E402
from load_tests.fleet import scenes  # noqa: E402
from load_tests.images import unique_bytes  # noqa: E402
from load_tests.options import plan, token_header  # noqa: E402

API = "/api/v1"


def gate_codes(prefix: str, gate: int) -> tuple[str, str]:
    """Camera codes of one gate: (entrance, exit)."""
    return f"{prefix}-G{gate}-IN", f"{prefix}-G{gate}-OUT"


def random_plate(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_uppercase, k=3)) + "".join(
        rng.choices(string.digits, k=4)
    )


class VehicleUser(FastHttpUser):
    """One vehicle: enters through a gate, stays a while, leaves, comes back later."""

    weight = 3

    def on_start(self) -> None:
        self.run = plan(self.environment)
        self.rng = random.Random()
        self.headers = token_header(self.environment)
        self.plate = random_plate(self.rng) + uuid.uuid4().hex[:3].upper()
        self.entrance, self.exit = gate_codes(
            self.run.serial_prefix, self.rng.randrange(self.run.gates)
        )
        self.inside = False
        self.frame = scenes(self.run.image_width)[0].reference
        for code, kind in ((self.entrance, "ENTRANCE"), (self.exit, "EXIT")):
            self.client.post(
                f"{API}/create-camera/",
                json={"code": code, "name": code, "type": kind},
                headers=self.headers,
                name=f"{API}/create-camera/",
            )

    def wait_time(self) -> float:
        # stays and absences are exponential around the mean dwell, at least one second
        return max(
            1.0, min(self.rng.expovariate(1 / self.run.dwell_seconds), 4 * self.run.dwell_seconds)
        )

    @task
    def pass_gate(self) -> None:
        camera, kind = (self.exit, "exit") if self.inside else (self.entrance, "entrance")
        if self.rng.random() < 0.5:
            ok, at = self.log_multipart(camera)
        else:
            ok, at = self.log_json(camera)
        if ok:
            self.inside = not self.inside
            ledger.sighting_accepted(self.plate, camera, kind, at)

    def results(self) -> list[dict]:
        x = self.rng.randrange(200, 1400)
        y = self.rng.randrange(300, 800)
        box = {"xmin": x, "ymin": y, "xmax": x + 120, "ymax": y + 40}
        return [{"plate": self.plate.lower(), "score": 0.91, "box": box}]

    def log_multipart(self, camera: str) -> tuple[bool, str | None]:
        """The seed's form: ``image`` file, ``results`` as a JSON string, ``camera``; no time."""
        image = unique_bytes(self.frame, uuid.uuid4().bytes)
        body, content_type = multipart(
            {"results": json.dumps(self.results()), "camera": camera},
            {"image": ("car.jpg", image, "application/octet-stream")},
        )
        return self.send(body, content_type, "log-vehicle (multipart)"), None

    def log_json(self, camera: str) -> tuple[bool, str | None]:
        """The LPR bridges' form: base64 image and a client-stamped ``time``."""
        now = datetime.fromtimestamp(time.time() + self.run.clock_offset, UTC)
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f%z")
        image = unique_bytes(self.frame, uuid.uuid4().bytes)
        body = json.dumps(
            {
                "camera": camera,
                "image": base64.b64encode(image).decode(),
                "results": self.results(),
                "time": stamp,
            }
        ).encode()
        return self.send(body, "application/json", "log-vehicle (json)"), stamp

    def send(self, body: bytes, content_type: str, name: str) -> bool:
        headers = {**self.headers, "Content-Type": content_type}
        with self.client.post(
            f"{API}/log-vehicle/", data=body, headers=headers, name=name, catch_response=True
        ) as reply:
            if reply.status_code == 200:
                reply.success()
                return True
            reply.failure(f"{reply.status_code} {(reply.text or '')[:200]}")
            return False


class BackOfficeUser(FastHttpUser):
    """The parking office exporting visits: last 24 hours, or a period of days."""

    weight = 1
    wait_time = between(5, 15)

    def on_start(self) -> None:
        self.run = plan(self.environment)
        self.rng = random.Random()
        self.headers = token_header(self.environment)

    def period(self) -> dict[str, str]:
        today = datetime.fromtimestamp(time.time() + self.run.clock_offset, UTC).date()
        start = today - timedelta(days=self.rng.randint(0, 3))
        return {"start": start.isoformat(), "end": today.isoformat()}

    def check(self, reply) -> None:
        if reply.status_code == 200 and isinstance(reply.json(), list):
            reply.success()
        else:
            reply.failure(f"{reply.status_code} {(reply.text or '')[:200]}")

    @task(3)
    def last_day(self) -> None:
        with self.client.get(
            f"{API}/visit-list/", headers=self.headers, name="visit-list (GET)", catch_response=True
        ) as reply:
            self.check(reply)

    @task(2)
    def period_query(self) -> None:
        with self.client.get(
            f"{API}/visit-list/",
            params=self.period(),
            headers=self.headers,
            name="visit-list (GET period)",
            catch_response=True,
        ) as reply:
            self.check(reply)

    @task(1)
    def period_post(self) -> None:
        with self.client.post(
            f"{API}/visit-list/",
            json=self.period(),
            headers=self.headers,
            name="visit-list (POST period)",
            catch_response=True,
        ) as reply:
            self.check(reply)
