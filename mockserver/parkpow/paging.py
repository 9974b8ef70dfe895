"""Page-number pagination as the live ParkPow service answers it (DRF ``PageNumberPagination``).

The vendor's tools page with ``?page=N`` (from 1) and follow ``next``, an absolute URL that
carries ``page=N``; they read ``estimated_count`` where DRF would say ``count``. The emulator
counts exactly (the name promises no more than an estimate). ``page_size`` is honoured up to
a cap and, as in DRF, anything invalid falls back to the default; a page that is not a whole
number, or lies past the last page, is DRF's ``404 {"detail": "Invalid page."}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from sqlalchemy import Connection, Select, func, select

from ..core.errors import NotFound
from ..core.pagination import replace_query_param

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
INVALID_PAGE = "Invalid page."


@dataclass(frozen=True)
class PageNumber:
    number: int
    size: int


def page_number_from(page: str | None, page_size: str | None) -> PageNumber:
    """The requested page (``last`` is the last one, as in DRF) and its size."""
    size = DEFAULT_PAGE_SIZE
    if page_size is not None:
        try:
            wanted = int(page_size)
        except ValueError:
            wanted = 0
        if wanted > 0:
            size = min(wanted, MAX_PAGE_SIZE)
    if not page:  # DRF: ``page`` absent or empty is the first page
        return PageNumber(1, size)
    if page == "last":
        return PageNumber(-1, size)
    if not (page.isascii() and page.isdigit()) or int(page) < 1:
        raise NotFound(INVALID_PAGE)
    return PageNumber(min(int(page), 2**62), size)


@dataclass
class NumberedPage:
    rows: list
    count: int
    number: int
    last: int


def fetch_numbered_page(conn: Connection, query: Select, page: PageNumber) -> NumberedPage:
    """``query`` (filters and ORDER BY applied) counted, then cut to the requested page."""
    count = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar()
    last = max(1, -(-count // page.size))
    number = last if page.number == -1 else page.number
    if number > last:
        raise NotFound(INVALID_PAGE)
    rows = conn.execute(query.limit(page.size).offset((number - 1) * page.size)).all()
    return NumberedPage(rows, count, number, last)


def envelope(page: NumberedPage, request_url: str, render: Callable[[object], dict]) -> dict:
    """``{"estimated_count", "next", "previous", "results"}`` with absolute links.

    As DRF, the link to page 1 drops the ``page`` parameter instead of writing ``page=1``.
    """

    def link(number: int) -> str:
        if number == 1:
            return _without_page(request_url)
        return replace_query_param(request_url, "page", str(number))

    return {
        "estimated_count": page.count,
        "next": link(page.number + 1) if page.number < page.last else None,
        "previous": link(page.number - 1) if page.number > 1 else None,
        "results": [render(row) for row in page.rows],
    }


def _without_page(url: str) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params.pop("page", None)
    return urlunsplit(
        (scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment)
    )
