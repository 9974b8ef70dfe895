"""Camera fleet: each user is one camera uploading a 1080p frame every cadence period.

    locust -f load_tests/fleet.py --host http://127.0.0.1:8000 --token demo-token \
        --emulator --time-scale 90 --headless -u 300 -r 50 -t 2m

Mostly normal frames; ``--mix`` sets the share of each anomaly; ``--offline-share`` makes
cameras go silent for ``--silent-periods`` periods. Without ``--emulator`` the vendor's
cadence (15 minutes) is kept and ``/_mock/`` is never called.

The vendor throttles create-log per account (one per second). A throttled upload waits
its ``Retry-After`` and is sent again, as a camera gateway queues it: Locust lists first
attempts, throttled replies and retries as separate rows, and only an upload still
throttled after ``MAX_THROTTLED_RETRIES`` retries (or any other refusal) is a failure.
With ``--emulator`` the load account's throttle is lifted for the run (``options.py``).
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid

from locust import FastHttpUser, task

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from load_tests import ledger  # noqa: E402
from load_tests.bodies import multipart  # noqa: E402
from load_tests.images import Scene, load_scenes, unique_bytes  # noqa: E402
from load_tests.options import plan, token_header  # noqa: E402

CREATE_LOG = "/v1/vision-alert/create-log/"
#: Locust's rows: first attempts, throttled replies (not failures), and their retries
CREATE_LOG_NAME = "create-log"
THROTTLED_NAME = "create-log throttled (429, retried)"
RETRIED_NAME = "create-log retry"
MAX_THROTTLED_RETRIES = 10
_scenes: dict[int, list[Scene]] = {}


def scenes(width: int) -> list[Scene]:
    """This process's frames (loaded once)."""
    if width not in _scenes:
        _scenes[width] = load_scenes(width)
    return _scenes[width]


class CameraUser(FastHttpUser):
    """One camera of the fleet: a fixed view, an upload per period, sometimes silent."""

    weight = 10

    def on_start(self) -> None:
        self.run = plan(self.environment)
        self.rng = random.Random()
        self.serial = f"{self.run.serial_prefix}-{uuid.uuid4().hex[:12].upper()}"
        self.tag = f"site-{self.rng.randrange(self.run.sites)}"
        self.scene = self.rng.choice(scenes(self.run.image_width))
        self.headers = token_header(self.environment)
        self.uploads = 0
        self.silent_left = 0
        # cameras of a fleet are not in step: each starts at its own phase of the period
        self.due = time.monotonic() + self.rng.uniform(0, self.run.cadence)

    def wait_time(self) -> float:
        # all waiting happens here, so a graceful stop (--stop-timeout) never cuts an upload
        return max(0.0, self.due - time.monotonic())

    @task
    def period(self) -> None:
        """One cadence period: upload a frame, or stay silent."""
        if time.monotonic() < self.due:
            return  # the first call, before this camera's phase
        self.due += self.run.cadence
        if self.silent_left > 0:
            self.silent_left -= 1
            return
        if self.uploads > 0 and self.rng.random() < self.run.offline_share:
            self.silent_left = self.run.silent_periods - 1
            return
        self.upload()
        # never inside the target's window, even when a reply was slow
        self.due = max(self.due, time.monotonic() + self.run.window * 1.02)

    def upload(self) -> None:
        if self.uploads == 0:  # the first frame becomes the camera's reference
            frame = self.scene.reference
        else:
            frame = self.rng.choice(self.scene.frames[self.run.pick_kind(self.rng)])
        frame = unique_bytes(frame, uuid.uuid4().bytes)
        fields = {"camera_id": self.serial, "tag": self.tag}
        body, content_type = multipart(fields, {"upload": ("frame.jpg", frame, "image/jpeg")})
        headers = {**self.headers, "Content-Type": content_type}
        for attempt in range(MAX_THROTTLED_RETRIES + 1):
            name = CREATE_LOG_NAME if attempt == 0 else RETRIED_NAME
            with self.client.post(
                CREATE_LOG, data=body, headers=headers, name=name, catch_response=True
            ) as reply:
                if reply.status_code == 200:
                    self.uploads += 1
                    ledger.upload_accepted(self.serial)
                    reply.success()
                    return
                wait = account_throttle_wait(reply.status_code, reply.headers, reply.text)
                if wait is None or attempt == MAX_THROTTLED_RETRIES:
                    reply.failure(f"{reply.status_code} {(reply.text or '')[:200]}")
                    return
                # the vendor's per-account throttle: a gateway queues and retries, as told
                reply.request_meta["name"] = THROTTLED_NAME
                reply.success()
            time.sleep(wait)


def account_throttle_wait(status: int, headers, text: str | None) -> float | None:
    """Seconds to wait before retrying a reply of the per-account throttle (DRF's 429 with
    ``Retry-After``); None for anything else, including the per-camera window's 429 (the
    profile paces each camera outside the window, so that one is a real failure)."""
    if status != 429 or "Request was throttled" not in (text or ""):
        return None
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None
