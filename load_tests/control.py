"""The emulator's control plane as the load profiles and benchmarks use it.

Only ever called when a run targets the emulator (``--emulator``); a real vendor server has
no ``/_mock/``. ``mockserver.client.MockServerClient`` plus the two steps a load run needs:
compressing the time rules, and knowing the emulator clock's offset from local time.
"""

from __future__ import annotations

import time
from datetime import datetime

from mockserver.client import ControlError, MockServerClient
from mockserver.testkit import seeds

VENDOR_CAMERA_WINDOW = 900.0  # the vendor's 15 minutes per camera
VENDOR_OFFLINE_AFTER = 3600.0
VENDOR_ALERT_WINDOW = 900.0
#: camera slots of the license a load account gets when the profile seeds it
LOAD_CAMERA_SLOTS = 1_000_000


def load_account_seed(token: str) -> dict:
    """A load account: both products, no per-account throttle, room for a large fleet."""
    return seeds.world(
        seeds.account(
            token,
            licenses=[seeds.license(f"LIC-{token}", size=LOAD_CAMERA_SLOTS)],
            parkings=[seeds.parking(f"{token}-lot", parking_spaces=10_000)],
        )
    )


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

    def prepare_load_account(self, token: str) -> tuple[bool, float | None]:
        """Make ``token``'s account take a fleet: an unknown token gets a load account
        seeded; a known one has its create-log throttle lifted. Returns (seeded, the
        throttle it had) so that the run can put it back."""
        try:
            previous = self.rate_limit(token)
        except ControlError as error:
            if error.status != 404:
                raise
            try:
                self.seed(load_account_seed(token))
            except ControlError as race:  # another load process seeded it first
                if race.status != 409:
                    raise
            return True, None
        if previous is not None:
            self.set_rate_limit(token, None)
        return False, previous
