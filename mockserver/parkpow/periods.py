"""visit-list's period: ``start``/``end`` as dates or timestamps, by default the last day.

The bounds follow the read API's date rules (``core.dates``): a date covers its whole
day in the server timezone, a timestamp is exact. With neither bound given the period is
the 24 hours up to the emulator's now; with one given, the other side is open.
"""

from __future__ import annotations

from datetime import tzinfo

from ..core.dates import parse_bound
from ..core.errors import FieldErrors

DAY_US = 24 * 3600 * 1_000_000


def visit_period(
    start: str | None, end: str | None, tz: tzinfo, now_us: int
) -> tuple[int | None, int | None]:
    """Inclusive bounds in microseconds (None: open); both bad fields reported at once."""
    errors: dict[str, list[str]] = {}
    bounds: dict[str, int | None] = {}
    for name, raw, is_end in (("start", start, False), ("end", end, True)):
        try:
            bounds[name] = parse_bound(name, raw, tz, end=is_end)
        except FieldErrors as exc:
            errors.update(exc.body)
    if errors:
        raise FieldErrors(errors)
    if bounds["start"] is None and bounds["end"] is None:
        return now_us - DAY_US, now_us
    return bounds["start"], bounds["end"]
