"""Conversions between stored microsecond instants and the forms each API speaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_us(instant_us: int, tz: tzinfo = UTC) -> datetime:
    return (EPOCH + timedelta(microseconds=instant_us)).astimezone(tz)


def zone(name: str) -> tzinfo:
    return UTC if name.upper() == "UTC" else ZoneInfo(name)


def iso_z(instant_us: int | None) -> str | None:
    """VisionAlert form: ``2026-04-10T14:30:00Z`` (UTC, whole seconds, as the seed shows)."""
    if instant_us is None:
        return None
    return from_us(instant_us).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_z_precise(instant_us: int) -> str:
    """``iso_z`` with the microseconds when there are any (the control plane's clock)."""
    text = iso_z(instant_us)
    micros = instant_us % 1_000_000
    return text if micros == 0 else text[:-1] + f".{micros:06d}Z"


def iso_naive(instant_us: int | None, tz: tzinfo) -> str | None:
    """ParkPow form: ``2019-06-08T15:40:19.419745`` (naive, in the server timezone)."""
    if instant_us is None:
        return None
    return from_us(instant_us, tz).strftime("%Y-%m-%dT%H:%M:%S.%f")


def parse_instant(text: str, tz: tzinfo = UTC) -> int:
    """Parse an ISO 8601 timestamp; a naive one is read in ``tz``. Raises ValueError."""
    value = text.strip()
    if not value or len(value) > 64:
        raise ValueError("empty")
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return to_us(moment)
