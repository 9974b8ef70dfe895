"""How VisionAlert's rules reach their emulator: from a due-work job or from a request."""

from __future__ import annotations

from ..core import duework


def world():
    """The emulator whose job is running in this thread, else the current request's."""
    runner = duework.running()
    if runner is not None and runner.world is not None:
        return runner.world
    from ..core.web import emulator

    return emulator()


def seconds_to_us(seconds: float) -> int:
    return int(round(float(seconds) * 1_000_000))
