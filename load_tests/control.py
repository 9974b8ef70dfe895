"""The emulator's control plane as the load profiles and benchmarks use it.

Only ever called when a run targets the emulator (``--emulator``); a real vendor server has
no ``/_mock/``. Uses ``mockserver.client`` when it is available, plain ``requests`` otherwise.
"""

from __future__ import annotations

import time
from datetime import datetime

import requests

VENDOR_CAMERA_WINDOW = 900.0  # the vendor's 15 minutes per camera
VENDOR_OFFLINE_AFTER = 3600.0
VENDOR_ALERT_WINDOW = 900.0


class Control:
    """``/_mock/`` of one emulator: clock, settings, seed."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        reply = self.session.request(
            method, f"{self.base_url}/_mock/{path}", json=body, timeout=self.timeout
        )
        if reply.status_code >= 400:
            raise RuntimeError(f"{method} /_mock/{path}: {reply.status_code} {reply.text[:300]}")
        return reply.json()

    def clock(self) -> dict:
        return self._call("GET", "clock")

    def set_clock(self, **change) -> dict:
        """One of ``set=ISO``, ``advance=seconds``, ``real=True``."""
        return self._call("POST", "clock", change)

    def settings(self) -> dict:
        return self._call("GET", "settings")

    def set_settings(self, **changes) -> dict:
        return self._call("POST", "settings", changes)

    def seed(self, body: dict) -> dict:
        return self._call("POST", "seed", body)

    def reset(self, seed: str = "none") -> dict:
        return self._call("POST", f"reset?seed={seed}")

    def clock_offset(self) -> float:
        """Emulator now minus local wall time, in seconds (for client-stamped times)."""
        before = time.time()
        now = self.clock()["now"]
        after = time.time()
        emulated = datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp()
        return emulated - (before + after) / 2

    def compress_time(self, scale: float, window_slack: float = 1.0) -> dict:
        """Scale the emulator's per-camera window and offline/alert rules by ``1/scale``.

        The window is further multiplied by ``window_slack`` (< 1 leaves room for jitter).
        A frozen clock is set running (a fleet cannot upload twice at one instant).
        """
        if self.clock().get("frozen"):
            self.set_clock(real=True)
        return self.set_settings(
            camera_window=VENDOR_CAMERA_WINDOW / scale * window_slack,
            offline_after=VENDOR_OFFLINE_AFTER / scale,
            alert_window=VENDOR_ALERT_WINDOW / scale,
        )
