"""The read API's ``start``/``end`` filters: a calendar date or an ISO 8601 timestamp.

The seed's table: a date (``YYYY-MM-DD``) covers its whole day — ``start`` from 00:00:00,
``end`` up to 23:59:59.999999 — and a timestamp is exact. Dates and naive timestamps are
read in the server timezone (a Django service with ``USE_TZ`` reads them in its current
timezone); a timestamp with ``Z`` or an offset means that instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from .errors import FieldErrors
from .timefmt import to_us

INVALID_DATE = "Enter a valid date (YYYY-MM-DD) or ISO 8601 timestamp."

#: Django's ``parse_date`` also takes one-digit months and days (``2026-4-1``)
_LOOSE_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MAX_LENGTH = 64


@dataclass(frozen=True)
class CreatedRange:
    """An inclusive range of ``created`` instants (microseconds); None: unbounded."""

    start_us: int | None = None
    end_us: int | None = None


def parse_bound(field: str, raw: str | None, tz: tzinfo, *, end: bool) -> int | None:
    """One bound in microseconds; an absent or blank value means no bound.

    Raises the seed's 400 ``{field: ["Enter a valid date ..."]}`` for anything else.
    """
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    try:
        if len(value) > _MAX_LENGTH:
            raise ValueError("too long")
        day = _as_date(value)
        if day is not None:
            moment = datetime.combine(day, time.max if end else time.min, tzinfo=tz)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
        return to_us(moment)
    except (ValueError, OverflowError):
        raise FieldErrors({field: [INVALID_DATE]}) from None


def _as_date(value: str) -> date | None:
    """A calendar date without a time part, in the forms Django's ``parse_date`` accepts."""
    if "T" in value.upper() or " " in value or ":" in value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    match = _LOOSE_DATE.match(value)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    return date(year, month, day)  # ValueError for 2026-02-30: an invalid value
