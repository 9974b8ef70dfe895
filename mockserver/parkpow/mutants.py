"""ParkPow's mutants: deviations from its rules that keep every reply valid under the spec.

Each is a ``core.mutant.Mutant`` carried by the descriptor; the control plane switches
them on and applies them (``control/mutants.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from ..core.mutant import Exchange, Mutant, Reply, parse_json

VISIT_LIST = r"/api/v1/visit-list/?"


def _visits(reply: Reply) -> tuple[object, list] | None:
    """The reply's visits: the documented bare array or the live page's results."""
    body = parse_json(reply.body) if reply.code == 200 else None
    if isinstance(body, list):
        return body, body
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return body, body["results"]
    return None


def _duration_in_seconds(exchange: Exchange, reply: Reply) -> None:
    """A closed visit's duration is written in seconds, not minutes."""
    found = _visits(reply)
    if found is None:
        return
    body, visits = found
    for visit in visits:
        if isinstance(visit, dict) and isinstance(visit.get("duration"), int | float):
            visit["duration"] = round(visit["duration"] * 60, 2)
    reply.set_json(body)


def _count_of_page(exchange: Exchange, reply: Reply) -> None:
    """The live page's ``estimated_count`` counts its own rows, not every match."""
    found = _visits(reply)
    if found is None or not isinstance(found[0], dict) or "estimated_count" not in found[0]:
        return
    body, visits = found
    body["estimated_count"] = len(visits)
    reply.set_json(body)


def _default_period_short(exchange: Exchange) -> None:
    """visit-list without a period starts a second after ``now - 24 h``: a visit started
    exactly 24 hours ago is left out."""
    if "start" in exchange.query or "end" in exchange.query:
        return
    emulator = exchange.emulator
    now = datetime.fromtimestamp(emulator.clock.now_us() / 1_000_000, UTC)
    start = (now - timedelta(hours=24) + timedelta(seconds=1)).astimezone(emulator.server_tz)
    query = {**exchange.query, "start": start.replace(tzinfo=None).isoformat()}
    exchange.environ["QUERY_STRING"] = urlencode(query)


MUTANTS = (
    Mutant(
        "visit_duration_seconds",
        "A visit's duration is written in seconds, not in minutes.",
        path=VISIT_LIST,
        reply=_duration_in_seconds,
    ),
    Mutant(
        "count_of_page",
        "The live visit-list's estimated_count counts the page's rows, not every match.",
        path=VISIT_LIST,
        reply=_count_of_page,
    ),
    Mutant(
        "default_period_short",
        "visit-list without a period leaves out a visit started exactly 24 hours ago.",
        path=VISIT_LIST,
        methods=frozenset({"GET"}),
        request=_default_period_short,
    ),
)
