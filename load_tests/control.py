"""The emulator's control plane as the load profiles and benchmarks use it.

Only ever called when a run targets the emulator (``--emulator``); a real vendor server has
no ``/_mock/``. ``mockserver.client.MockServerClient`` plus the two steps a load run needs:
compressing the time rules, and knowing the emulator clock's offset from local time.
"""

from __future__ import annotations

import time
from datetime import datetime

from mockserver.client import MockServerClient

VENDOR_CAMERA_WINDOW = 900.0  # the vendor's 15 minutes per camera
VENDOR_OFFLINE_AFTER = 3600.0
VENDOR_ALERT_WINDOW = 900.0


class Control(MockServerClient):
    """``/_mock/`` of one emulator (long timeout: advancing the clock runs due work)."""

    def __init__(self, base_url: str, control_token: str | None = None) -> None:
        super().__init__(base_url, control_token=control_token, timeout=900.0)

    def clock_offset(self) -> float:
        """Emulator now minus local wall time, in seconds (for client-stamped times)."""
        before = time.time()
        now = self.clock()["now"]
        after = time.time()
        emulated = datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp()
        return emulated - (before + after) / 2

    def compress_time(self, scale: float, window_slack: float = 1.0) -> dict:
        """Scale the per-camera window and the offline/alert rules by ``1/scale``.

        The window is further multiplied by ``window_slack`` (< 1 leaves room for jitter).
        A frozen clock is set running (a fleet cannot upload twice at one instant).
        """
        if self.clock().get("frozen"):
            self.real_time()
        return self.update_settings(
            camera_window=VENDOR_CAMERA_WINDOW / scale * window_slack,
            offline_after=VENDOR_OFFLINE_AFTER / scale,
            alert_window=VENDOR_ALERT_WINDOW / scale,
        )
