"""Cursor pagination that behaves like Django REST framework's ``CursorPagination``.

Same query parameters (``cursor``, ``page_size``), same page-size rules (default 50,
clamped at 200, anything invalid falls back to the default, never a 400), same cursor
encoding (base64 of ``o=<offset>&r=1&p=<position>``, each token only when it applies),
same ``next``/``previous`` links and the same ``404 {"detail": "Invalid cursor"}``.

One difference makes it cheaper and exact: the position is ``created`` *and* the row id
(``2026-04-10T14:30:00.000000Z_1001``), so rows created in the same microsecond are
told apart by the index instead of by an offset. Every page is a keyset query
``WHERE (created_us, id) < (?, ?) ORDER BY created_us DESC, id DESC LIMIT n + 1`` on a
composite index: a page costs the same at any depth and table size, and walking
``next`` while rows are added neither skips nor repeats a row.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from sqlalchemy import ColumnElement, Connection, Select, select, tuple_, union_all

from .errors import NotFound
from .numbers import MAX_ID
from .timefmt import from_us, to_us

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
OFFSET_CUTOFF = 1000  # DRF's cap on a cursor's offset
CURSOR_PARAM = "cursor"
PAGE_SIZE_PARAM = "page_size"
INVALID_CURSOR = "Invalid cursor"

Position = tuple[int, int]  # (created_us, id)

_POSITION = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6})Z_(\d{1,19})$")
_MAX_ID = MAX_ID  # a bound above every id


@dataclass(frozen=True)
class Cursor:
    offset: int = 0
    reverse: bool = False
    position: Position | None = None


@dataclass(frozen=True)
class PageRequest:
    """What the client asked for, parsed at the edge."""

    size: int = DEFAULT_PAGE_SIZE
    cursor: Cursor | None = None


@dataclass
class Page:
    """One page of rows (newest first) and the cursors of its neighbours (None: no link)."""

    rows: list[Any]
    next: Cursor | None
    previous: Cursor | None


# -- the edge: query parameters and links ---------------------------------------------------


def page_size_from(raw: str | None) -> int:
    """DRF's ``_positive_int(strict=True, cutoff=200)``, falling back to the default."""
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    if size <= 0:
        return DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE)


def page_request(params: Callable[[str], str | None]) -> PageRequest:
    """Parse ``page_size`` and ``cursor`` with ``params(name)`` (last value of a name)."""
    return PageRequest(page_size_from(params(PAGE_SIZE_PARAM)), decode_cursor(params(CURSOR_PARAM)))


def encode_position(position: Position) -> str:
    created_us, row_id = position
    return from_us(created_us).strftime("%Y-%m-%dT%H:%M:%S.%f") + f"Z_{row_id}"


def decode_position(text: str, reverse: bool) -> Position:
    """Our ``<created>Z_<id>``; a bare DRF position (a timestamp) is accepted too.

    A bare timestamp means DRF's strict ``created < p`` (``> p`` in reverse): the id
    part becomes a bound below (above) every id.
    """
    match = _POSITION.match(text)
    if match is not None:
        moment = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
        row_id = int(match.group(2))
        if row_id > _MAX_ID:
            raise ValueError("id out of range")
        return to_us(moment), row_id
    if len(text) > 64:
        raise ValueError("bad position")
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_us(moment), (_MAX_ID if reverse else 0)


def encode_cursor(cursor: Cursor) -> str:
    """base64 of the urlencoded tokens, in DRF's order: o (if not 0), r (if reverse), p."""
    tokens: dict[str, str] = {}
    if cursor.offset != 0:
        tokens["o"] = str(cursor.offset)
    if cursor.reverse:
        tokens["r"] = "1"
    if cursor.position is not None:
        tokens["p"] = encode_position(cursor.position)
    return base64.b64encode(urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")


def decode_cursor(encoded: str | None) -> Cursor | None:
    """The cursor of a ``cursor`` parameter; anything malformed is DRF's 404 Invalid cursor."""
    if encoded is None:
        return None
    try:
        querystring = base64.b64decode(encoded.encode("ascii")).decode("ascii")
        tokens = parse_qs(querystring, keep_blank_values=True)
        offset = int(tokens.get("o", ["0"])[0])
        if offset < 0:
            raise ValueError("negative offset")
        reverse = bool(int(tokens.get("r", ["0"])[0]))
        raw_position = tokens.get("p", [None])[0]
        position = None if raw_position is None else decode_position(raw_position, reverse)
    except (TypeError, ValueError, OverflowError, binascii.Error):
        raise NotFound(INVALID_CURSOR) from None
    return Cursor(min(offset, OFFSET_CUTOFF), reverse, position)


def replace_query_param(url: str, key: str, value: str) -> str:
    """DRF's ``replace_query_param``: every parameter kept, keys sorted, ``key`` replaced."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params[key] = [value]
    return urlunsplit(
        (scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment)
    )


def envelope(page: Page, request_url: str, results: list) -> dict:
    """The seed's ``{"next", "previous", "results"}`` with absolute links."""

    def link(cursor: Cursor | None) -> str | None:
        if cursor is None:
            return None
        return replace_query_param(request_url, CURSOR_PARAM, encode_cursor(cursor))

    return {"next": link(page.next), "previous": link(page.previous), "results": results}


# -- the query ------------------------------------------------------------------------------


def fetch_page(
    conn: Connection,
    query: Select,
    created: ColumnElement,
    row_id: ColumnElement,
    request: PageRequest,
    partitions: Sequence[ColumnElement] | None = None,
) -> Page:
    """Run ``query`` (filters applied, no ORDER BY) for one page, newest first.

    Rows must carry ``created_us`` and ``id`` attributes: they are the positions.
    ``partitions`` (e.g. one ``camera_id == x`` per camera of a tag) splits the query
    into one keyset scan per partition, each on its own index and at most one page
    long, merged by one ORDER BY: the cost is bounded by the number of partitions,
    not by how rare their rows are in the table.
    """
    cursor = request.cursor or Cursor()
    size = request.size
    if partitions:
        ordered = _merged(query, created, row_id, cursor, size, partitions)
    else:
        ordered = _keyset(query, created, row_id, cursor, size + 1)
        if cursor.offset:
            ordered = ordered.offset(cursor.offset)
    fetched = conn.execute(ordered).all()
    rows = fetched[:size]
    following = _position(fetched[-1]) if len(fetched) > size else None
    current = cursor.position
    if cursor.reverse:
        rows.reverse()
        has_next = current is not None or cursor.offset > 0
        has_previous = following is not None
        next_position, previous_position = current, following
    else:
        has_next = following is not None
        has_previous = current is not None or cursor.offset > 0
        next_position, previous_position = following, current
    return Page(
        rows=rows,
        next=_next_cursor(rows, cursor, size, has_previous, next_position, previous_position)
        if has_next
        else None,
        previous=_previous_cursor(rows, cursor, size, has_next, next_position, previous_position)
        if has_previous
        else None,
    )


def _keyset(
    query: Select, created: ColumnElement, row_id: ColumnElement, cursor: Cursor, limit: int
) -> Select:
    """Order by (created, id) in the cursor's direction, after its position, ``limit`` rows."""
    if cursor.reverse:
        ordered = query.order_by(created.asc(), row_id.asc())
        if cursor.position is not None:
            ordered = ordered.where(tuple_(created, row_id) > tuple_(*cursor.position))
    else:
        ordered = query.order_by(created.desc(), row_id.desc())
        if cursor.position is not None:
            ordered = ordered.where(tuple_(created, row_id) < tuple_(*cursor.position))
    return ordered.limit(limit)


def _merged(
    query: Select,
    created: ColumnElement,
    row_id: ColumnElement,
    cursor: Cursor,
    size: int,
    partitions: Sequence[ColumnElement],
) -> Select:
    """One keyset scan per partition, merged in order; then the page's full rows by id.

    The scans read only (created, id) — each partition's index covers them — and at most
    one page (plus the cursor's offset) each.
    """
    per_partition = cursor.offset + size + 1
    keys = query.with_only_columns(created.label("created_us"), row_id.label("id"))
    arms = [
        select(_keyset(keys.where(part), created, row_id, cursor, per_partition).subquery())
        for part in partitions
    ]
    merged = union_all(*arms).subquery()
    direction = (lambda c: c.asc()) if cursor.reverse else (lambda c: c.desc())
    page_ids = (
        select(merged.c.id)
        .order_by(direction(merged.c.created_us), direction(merged.c.id))
        .limit(size + 1)
        .offset(cursor.offset)
    )
    order = (created.asc(), row_id.asc()) if cursor.reverse else (created.desc(), row_id.desc())
    return query.where(row_id.in_(page_ids)).order_by(*order)


def _position(row: Any) -> Position:
    return (row.created_us, row.id)


def _next_cursor(
    rows: Sequence[Any],
    cursor: Cursor,
    size: int,
    has_previous: bool,
    next_position: Position | None,
    previous_position: Position | None,
) -> Cursor:
    """DRF's ``get_next_link`` marker search; with unique positions it is the last row."""
    if rows and cursor.reverse and cursor.offset:
        compare = _position(rows[-1])
    else:
        compare = next_position
    offset = 0
    position = None
    unique = False
    for row in reversed(rows):
        position = _position(row)
        if position != compare:
            unique = True
            break
        compare = position
        offset += 1
    if rows and not unique:
        if not has_previous:
            offset, position = size, None
        elif cursor.reverse:
            offset, position = 0, previous_position
        else:
            offset, position = cursor.offset + size, previous_position
    if not rows:
        position = next_position
    return Cursor(offset=offset, reverse=False, position=position)


def _previous_cursor(
    rows: Sequence[Any],
    cursor: Cursor,
    size: int,
    has_next: bool,
    next_position: Position | None,
    previous_position: Position | None,
) -> Cursor:
    """DRF's ``get_previous_link`` marker search; with unique positions it is the first row."""
    if rows and not cursor.reverse and cursor.offset:
        compare = _position(rows[0])
    else:
        compare = previous_position
    offset = 0
    position = None
    unique = False
    for row in rows:
        position = _position(row)
        if position != compare:
            unique = True
            break
        compare = position
        offset += 1
    if rows and not unique:
        if not has_next:
            offset, position = size, None
        elif cursor.reverse:
            offset, position = cursor.offset + size, next_position
        else:
            offset, position = 0, next_position
    if not rows:
        position = previous_position
    return Cursor(offset=offset, reverse=True, position=position)
