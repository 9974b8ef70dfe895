"""How values read on the dashboard: times, masked tokens, percentages, status colours.

Shared by every template (a context processor), so a token or a time looks the same on
every page.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..secrets import mask

#: status → badge colour class (CSS in ui.css)
BADGES = {
    "normal": "ok",
    "anomaly": "bad",
    "offline": "bad",
    "under_review": "warn",
    "pending_retry": "warn",
    "config_issue": "warn",
    None: "idle",
}


def when(instant_us: int | None) -> str:
    """``2026-04-10 14:30:05`` (UTC, to the second) or an em dash."""
    if instant_us is None:
        return "—"
    moment = datetime.fromtimestamp(instant_us / 1e6, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def badge(status: str | None) -> str:
    return BADGES.get(status, "warn")


def percent(value: float | None) -> str:
    return "0%" if value is None else f"{max(0.0, min(1.0, value)) * 100:.1f}%"


def status_class(status: int) -> str:
    """Colour of a journal row: a refused or failed request stands out."""
    if status == 0 or status >= 500:
        return "s5"
    if status >= 400:
        return "s4"
    if status >= 300:
        return "s3"
    return "s2"


def duration(start_us: int, end_us: int | None) -> str:
    """A visit's length, in minutes up to two hours, then in hours."""
    if end_us is None:
        return "open"
    minutes = (end_us - start_us) / 60e6
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


HELPERS = {
    "when": when,
    "mask": mask,
    "badge": badge,
    "percent": percent,
    "status_class": status_class,
    "duration": duration,
}
