"""Client-behaviour assertions: did a client behave well, judged from the request journal?

Each check looks at one client's journal entries (its token, optionally under a path) in
the order they arrived, measured in real time: a client's waits are real waits, whatever
the emulator clock says. Each answers ``{"assertion", "passed", "checked", "violations",
"message", "details"}``. ``checked`` counts the situations the check could judge; a check
that found nothing to judge fails unless ``min_checked=0`` (a test that provoked no 429
has not shown that its client honours ``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from ..core.errors import FieldErrors

MAX_DETAILS = 50


def _key(row) -> tuple[str, str]:
    return row.method, row.path.rstrip("/")


def _start(row) -> float:
    return row.wall_us / 1e6


def _end(row) -> float:
    return row.wall_us / 1e6 + row.duration_ms / 1000


def _failed(row) -> bool:
    return row.status == 0 or row.status >= 500


def _next_same(rows: list, index: int):
    key = _key(rows[index])
    for later in rows[index + 1 :]:
        if _key(later) == key:
            return later
    return None


def _result(name: str, checked: int, details: list[dict], min_checked: int, what: str) -> dict:
    violations = sum(1 for item in details if not item["ok"])
    passed = violations == 0 and checked >= min_checked
    if violations:
        message = f"{violations} of {checked} {what} broke the rule."
    elif checked < min_checked:
        message = f"Only {checked} {what} observed; at least {min_checked} needed to judge."
    else:
        message = f"All {checked} {what} followed the rule."
    shown = [item for item in details if not item["ok"]] + [item for item in details if item["ok"]]
    return {
        "assertion": name,
        "passed": passed,
        "checked": checked,
        "violations": violations,
        "message": message,
        "details": shown[:MAX_DETAILS],
    }


def retry_after_honoured(rows: list, min_checked: int = 1, tolerance: float = 0.05) -> dict:
    """After a reply with ``Retry-After``, the client's next same request waited that long."""
    rows = [row for row in rows if row.wall_us is not None]
    details = []
    for index, row in enumerate(rows):
        if row.retry_after is None:
            continue
        later = _next_same(rows, index)
        waited = None if later is None else round(_start(later) - _end(row), 3)
        details.append(
            {
                "request_id": row.id,
                "path": row.path,
                "status": row.status,
                "retry_after": row.retry_after,
                "next_request_id": later.id if later is not None else None,
                "waited": waited,
                "ok": waited is None or waited >= row.retry_after - tolerance,
            }
        )
    return _result(
        "retry_after_honoured", len(details), details, min_checked, "Retry-After replies"
    )


def backoff_after_5xx(
    rows: list,
    min_checked: int = 1,
    min_seconds: float = 0.1,
    growth: float = 1.0,
    tolerance: float = 0.05,
) -> dict:
    """Retries after a 5xx (or a dropped connection) wait at least ``min_seconds`` and
    each wait is at least ``growth`` times the previous one of the same run of failures."""
    rows = [row for row in rows if row.wall_us is not None]
    details = []
    previous_gap: dict[tuple[str, str], float] = {}
    for index, row in enumerate(rows):
        key = _key(row)
        if not _failed(row):
            previous_gap.pop(key, None)
            continue
        later = _next_same(rows, index)
        if later is None:
            continue
        gap = _start(later) - _end(row)
        before = previous_gap.get(key)
        ok = gap >= min_seconds - tolerance
        if before is not None:
            ok = ok and gap >= before * growth - tolerance
        previous_gap[key] = gap
        details.append(
            {
                "request_id": row.id,
                "path": row.path,
                "status": row.status,
                "retry_request_id": later.id,
                "waited": round(gap, 3),
                "previous_wait": round(before, 3) if before is not None else None,
                "ok": ok,
            }
        )
    return _result("backoff_after_5xx", len(details), details, min_checked, "retries after 5xx")


def _url_key(path: str, query: str) -> tuple[str, tuple]:
    return path.rstrip("/"), tuple(sorted(parse_qsl(query, keep_blank_values=True)))


def followed_next_to_end(rows: list, min_checked: int = 1) -> dict:
    """Every ``next`` link handed to the client was requested (and answered) later, so
    each listing was walked to its last page."""
    rows = [row for row in rows if row.wall_us is not None and row.method == "GET"]
    details = []
    for index, row in enumerate(rows):
        if not row.next_url:
            continue
        link = urlsplit(row.next_url)
        wanted = _url_key(link.path, link.query)
        follow = next(
            (
                later
                for later in rows[index + 1 :]
                if later.next_url is not None and _url_key(later.path, later.query) == wanted
            ),
            None,
        )
        details.append(
            {
                "request_id": row.id,
                "next": row.next_url,
                "followed_by": follow.id if follow is not None else None,
                "ok": follow is not None,
            }
        )
    pages = sum(1 for row in rows if row.next_url is not None)
    return _result("followed_next_to_end", pages, details, min_checked, "paginated replies")


ASSERTIONS: dict[str, Callable[..., dict]] = {
    "retry_after_honoured": retry_after_honoured,
    "backoff_after_5xx": backoff_after_5xx,
    "followed_next_to_end": followed_next_to_end,
}

#: query parameters each assertion takes besides ``token`` and ``path``
PARAMETERS = {
    "retry_after_honoured": {"min_checked": int, "tolerance": float},
    "backoff_after_5xx": {
        "min_checked": int,
        "min_seconds": float,
        "growth": float,
        "tolerance": float,
    },
    "followed_next_to_end": {"min_checked": int},
}


def parse_parameters(name: str, args) -> dict:
    """The assertion's tuning parameters from query strings (validated, 400 on bad input)."""
    values = {}
    for key, kind in PARAMETERS[name].items():
        raw = args.get(key)
        if raw is None or raw == "":
            continue
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or value < 0 or value != value:
            raise FieldErrors({key: ["A number >= 0."]})
        values[key] = value
    return values
