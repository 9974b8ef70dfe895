"""Walking a paginated list every way a client walks it.

The seed: "To page through results, follow the next and previous URLs returned in each
response … Results are ordered newest-first by created." ParkPow's live visit-list pages
the same way by number (DRF's PageNumberPagination: ``next``/``previous`` with ``page=N``,
newest ``start_date`` first by default). A client walks forward to the
end, walks back from there through ``previous``, and expects the walk to show exactly the
rows one big page shows, each once, in that order. The suite does all of it, on pages
small enough (``page_size``) that every list with two or more rows has several pages.

Each property is a named check, counted in the fidelity report like Schemathesis' own
(exercised only when the walk really had the pages to show it). Every request goes
through :func:`suite.send`, so each page also passes every response check.

A live list may grow while it is walked (a log appears up to minutes after its upload,
with the upload's ``created``): the walk reads one big page before and after, and a list
that changed in between is walked again; one that never holds still is reported as
"could not proceed", not as a broken contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from .report import RECORDER
from .suite import load, send

SPEC = "visionalert"
BIG_PAGE = "200"
ATTEMPTS = 3

#: every property a walk checks, in the order the report lists them
CHECKS = (
    "walk_reaches_the_end",
    "first_page_has_no_previous",
    "no_row_twice",
    "walk_equals_one_big_page",
    "order_newest_first",
    "previous_walks_back_to_the_start",
    "next_previous_symmetric",
)


class CouldNotProceed(Exception):
    """The target offers nothing to walk (not a contract failure)."""


class Broken(AssertionError):
    """A walk showed the server breaking the contract."""


@dataclass
class Walk:
    """One list (operation and path) and what a walk of it saw."""

    operation_id: str
    path: dict
    query: dict = field(default_factory=dict)
    spec: str = SPEC
    order_field: str = "created"  # newest first by this timestamp
    big_page: str = BIG_PAGE  # one page that holds the whole list (the API's maximum)
    big: list[dict] = field(default_factory=list)
    forward: list[dict] = field(default_factory=list)  # the pages, first to last
    backward: list[dict] = field(default_factory=list)  # the pages, last to first

    @property
    def label(self) -> str:
        return load(self.spec).find_operation_by_id(self.operation_id).label


def _page(target, walk: Walk, query: dict) -> dict:
    reply = send(target, walk.spec, walk.operation_id, path_parameters=walk.path, query=query)
    if reply.status_code != 200:
        raise CouldNotProceed(
            f"{walk.operation_id} {walk.path} answered {reply.status_code}: {reply.text[:200]}"
        )
    return reply.json()


def _follow(link: str) -> dict:
    """The query of a ``next``/``previous`` URL, as given (never built by hand)."""
    return {key: values[-1] for key, values in parse_qs(urlsplit(link).query).items()}


def _ids(page: dict) -> list:
    return [row.get("id") for row in page.get("results", [])]


def one_big_page(target, walk: Walk) -> list[dict]:
    """Every row of the list on one page (at most ``walk.big_page``), or CouldNotProceed."""
    page = _page(target, walk, {**walk.query, "page_size": walk.big_page})
    if page.get("next"):
        raise CouldNotProceed(f"{walk.operation_id} {walk.path}: more than {walk.big_page} rows")
    return page["results"]


def page_size_for(rows: int) -> int:
    """Small enough for at least two pages (three from four rows on), never above five."""
    return max(1, min(5, (rows - 1) // 2))


def walk_list(target, walk: Walk, grow: Callable[[int], None] | None = None) -> None:
    """Walk forward, then back, checking every property; record each in the report.

    ``grow(rows)`` may add rows to a list that has fewer than two (writes allowed).
    """
    for _attempt in range(ATTEMPTS):
        walk.big = one_big_page(target, walk)
        if len(walk.big) < 2 and grow is not None:
            grow(len(walk.big))
            walk.big = one_big_page(target, walk)
        if len(walk.big) < 2:
            raise CouldNotProceed(
                f"{walk.operation_id} {walk.path} has {len(walk.big)} row(s); a walk needs two"
            )
        size = page_size_for(len(walk.big))
        _walk_forward(target, walk, size)
        _walk_backward(target, walk)
        if _ids({"results": one_big_page(target, walk)}) == _ids({"results": walk.big}):
            break  # the list held still: what the walk saw is the list
    else:
        raise CouldNotProceed(f"{walk.operation_id} {walk.path} kept changing while walked")
    _judge(target, walk)


def _walk_forward(target, walk: Walk, size: int) -> None:
    walk.forward = [_page(target, walk, {**walk.query, "page_size": str(size)})]
    while walk.forward[-1].get("next") and len(walk.forward) <= len(walk.big) + 1:
        walk.forward.append(_page(target, walk, _follow(walk.forward[-1]["next"])))


def _walk_backward(target, walk: Walk) -> None:
    walk.backward = [walk.forward[-1]]
    while walk.backward[-1].get("previous") and len(walk.backward) <= len(walk.forward) + 1:
        walk.backward.append(_page(target, walk, _follow(walk.backward[-1]["previous"])))


def _moment(row: dict, name: str) -> datetime | None:
    """The row's ordering timestamp (VisionAlert's aware ``created``, ParkPow's naive
    ``start_date``: a list compares like with like)."""
    try:
        return datetime.fromisoformat(str(row.get(name, "")).replace("Z", "+00:00"))
    except ValueError:
        return None


def _judge(target, walk: Walk) -> None:
    """Each property of the walk, as a check of its own (all run; the first failure raised)."""
    forward, backward = walk.forward, walk.backward
    seen = [row_id for page in forward for row_id in _ids(page)]
    big = _ids({"results": walk.big})
    rows = [row for page in forward for row in page.get("results", [])]
    moments = [_moment(row, walk.order_field) for row in rows]
    known = [moment for moment in moments if moment is not None]
    verdicts: dict[str, str | None] = {
        "walk_reaches_the_end": None
        if not forward[-1].get("next")
        else f"`next` still set after {len(forward)} pages of {len(walk.big)} rows",
        "first_page_has_no_previous": None
        if forward[0].get("previous") is None
        else f"the first page has previous={forward[0]['previous']!r}",
        "no_row_twice": None
        if len(seen) == len(set(seen))
        else f"rows listed twice: {sorted({i for i in seen if seen.count(i) > 1})[:10]}",
        "walk_equals_one_big_page": None
        if seen == big
        else f"the walk saw {seen[:20]}, one big page holds {big[:20]}",
        "order_newest_first": None
        if all(a >= b for a, b in zip(known, known[1:], strict=False))
        else f"the pages, read in order, are not newest first by `{walk.order_field}`",
        "previous_walks_back_to_the_start": _back_to_start(forward, backward),
    }
    verdicts["next_previous_symmetric"] = _symmetric(target, walk)
    for name, error in verdicts.items():
        RECORDER.record_check(walk.spec, walk.label, name, error)
    failures = [f"{name}: {error}" for name, error in verdicts.items() if error]
    if failures:
        raise Broken(f"{walk.operation_id} {walk.path} page walk:\n" + "\n".join(failures))


def _back_to_start(forward: list[dict], backward: list[dict]) -> str | None:
    """From the last page, ``previous`` visits the forward pages in reverse, to the first."""
    there = [_ids(page) for page in forward]
    back = [_ids(page) for page in reversed(backward)]
    if back == there:
        return None
    return f"forward pages {there}, walking back from the end shows {back[::-1]}"


def _symmetric(target, walk: Walk) -> str | None:
    """``next`` of a page reached through ``previous`` leads back to where the walk came from."""
    for index, page in enumerate(walk.backward[1:], start=1):
        link = page.get("next")
        if not link:
            return f"a page reached through `previous` has no `next`: {_ids(page)}"
        again = _page(target, walk, _follow(link))
        if _ids(again) != _ids(walk.backward[index - 1]):
            return (
                f"`previous` then `next` from {_ids(walk.backward[index - 1])} "
                f"lands on {_ids(again)}"
            )
    return None


def declare() -> None:
    """Name every walk check in the report, so one never exercised shows as such."""
    RECORDER.declare_checks(CHECKS)
