"""The server's clock through its control plane: every write of the rule scenarios happens
at an instant the suite chose, so every boundary is hit exactly.

Against a server without the clock control (or without consent to write) the rules that
need it are listed as not exercised, with the reason (``CouldNotProceed``).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .rules import LEDGER


class CouldNotProceed(Exception):
    """The target offers nothing to exercise these rules with (not a contract failure)."""


class Clock:
    """The server's clock through its control plane: the instant of every write."""

    def __init__(self, target) -> None:
        self.target = target
        state = self._call("GET")
        self.was_frozen = bool(state.get("frozen"))
        self.now = self._parse(state["now"])

    @staticmethod
    def _parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)

    def _call(self, method: str, body: dict | None = None) -> dict:
        reply = self.target.http(method, "/_mock/clock", token=False, json=body)
        if reply.status_code != 200:
            raise RuntimeError(f"/_mock/clock answered {reply.status_code}")
        return reply.json()

    def set(self, instant: datetime) -> None:
        self.now = self._parse(self._call("POST", {"set": zulu_micro(instant)})["now"])

    def to(self, instant: datetime) -> None:
        """Forward to ``instant``, running the work that falls due on the way."""
        seconds = (instant - self.now).total_seconds()
        assert seconds >= 0, f"the clock only moves forward here ({self.now} → {instant})"
        if seconds:
            self._call("POST", {"advance": seconds})
        self.now = instant

    def release(self) -> None:
        """Back to wall time when the server ran on it (a live server)."""
        if self.target.options.live and not self.was_frozen:
            self._call("POST", {"real": True})


def zulu_micro(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def zone(target):
    name = target.options.server_timezone
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def control(target, rules: tuple[str, ...]) -> Clock:
    """The clock control, or the rules listed as not exercised (``CouldNotProceed``)."""
    if not target.options.writes_allowed:
        LEDGER.cannot(rules, "changes state: run with --allow-writes")
        raise CouldNotProceed("the rules need writes (--allow-writes)")
    try:
        return Clock(target)
    except (RuntimeError, KeyError, ValueError) as error:
        reason = (
            f"needs the clock control (/_mock/clock: {error}); in real time the boundary "
            "instant cannot be hit exactly"
        )
        LEDGER.cannot(rules, reason)
        raise CouldNotProceed(reason) from None


def settings(target) -> dict:
    reply = target.http("GET", "/_mock/settings", token=False)
    return reply.json() if reply.status_code == 200 else {}


def midnight_after(instant: datetime, zone) -> datetime:
    """The first midnight of the server timezone at least an hour after ``instant``."""
    local = (instant + timedelta(hours=1)).astimezone(zone)
    day = local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def stamp(instant: datetime) -> str:
    """A short name part derived from the server's clock (same world, same names)."""
    return f"{int(instant.timestamp()) % 1_000_000:06d}"


@contextmanager
def unthrottled(target):
    """The token's create-log throttle off for the test (through the control plane), so
    that two cameras can upload at one instant; restored afterwards."""
    path = f"/_mock/accounts/{target.token}/rate-limit"
    before = target.http("GET", path, token=False)
    rate = before.json().get("rate_limit_per_second") if before.status_code == 200 else None
    if rate is not None:
        target.http("POST", path, token=False, json={"rate_limit_per_second": None})
    try:
        yield
    finally:
        if rate is not None:
            target.http("POST", path, token=False, json={"rate_limit_per_second": rate})
