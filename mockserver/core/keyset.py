"""Keyset pages for the dashboard: ``after=<time_us>.<id>`` in the URL, newest first.

Every list on the dashboard is ordered by a (time, id) pair that has a composite index,
so a page is one range scan of ``size + 1`` rows at any depth: the dashboard of a fleet
of 10,000 cameras and a million logs costs what the demo's does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, or_

from .errors import FieldErrors
from .numbers import MAX_BIG, MAX_ID

POSITION = re.compile(r"\A(\d{1,19})\.(\d{1,19})\Z")


@dataclass(frozen=True)
class Position:
    time_us: int
    row_id: int

    def __str__(self) -> str:
        return f"{self.time_us}.{self.row_id}"


def parse_after(raw: str | None, name: str = "after") -> Position | None:
    """The position a page starts after; a malformed one is a 400 like any bad filter."""
    if raw is None or raw == "":
        return None
    found = POSITION.match(raw)
    if found is None or int(found[1]) > MAX_BIG or int(found[2]) > MAX_ID:
        raise FieldErrors({name: ["Invalid position: <time_us>.<id> from a 'next' link."]})
    return Position(int(found[1]), int(found[2]))


@dataclass(frozen=True)
class KeysetPage:
    rows: list[Any]
    next: Position | None  # where the following page starts; None on the last page


def newest_first(
    conn: Connection, query, time_col, id_col, after: Position | None, size: int
) -> KeysetPage:
    """One page of ``query`` ordered by (time, id) descending, strictly after ``after``."""
    if after is not None:
        query = query.where(
            or_(
                time_col < after.time_us,
                and_(time_col == after.time_us, id_col < after.row_id),
            )
        )
    rows = conn.execute(query.order_by(time_col.desc(), id_col.desc()).limit(size + 1)).all()
    if len(rows) <= size:
        return KeysetPage(rows, None)
    last = rows[size - 1]
    return KeysetPage(rows[:size], Position(last._mapping[time_col.key], last._mapping[id_col.key]))
