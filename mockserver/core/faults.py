"""Fault injection: which requests fail, how, and how often.

A fault is a row of the ``faults`` table (so every worker shares it): a *match* (path glob
or regex, methods, token), a budget (``times``: the next N matching requests; ``rate``: a
seeded, reproducible fraction of them; both may be combined) and an *action*
(``status``, ``latency``, ``drop``, ``truncate``, ``malformed``). Deciding whether a
request is hit is one write transaction on the fault's row, so the budget is consumed
exactly once across all workers. Control-plane paths (``/_mock/``) are never matched.

Workers cache the list of active faults; the cache is keyed by a token in shared memory
that every change rewrites, so when no fault exists the request path costs one memory read.
"""

from __future__ import annotations

import fnmatch
import json
import random
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Connection, select

from . import schema
from .errors import FieldErrors, NotFound
from .numbers import is_number, is_whole_number
from .timefmt import iso_z

ACTIONS = ("status", "latency", "drop", "truncate", "malformed")
#: what a fault hits: API requests, or the emulator's own webhook deliveries
TARGETS = ("request", "webhook")
WEBHOOK_ACTIONS = ("status", "latency", "drop")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_LATENCY_MS = 60_000

#: default bodies of injected statuses (DRF's texts where DRF has one)
STATUS_TEXTS = {
    429: "Request was throttled.",
    500: "A server error occurred.",
    502: "Bad gateway.",
    503: "Service temporarily unavailable, try again later.",
    504: "Gateway timeout.",
}


# -- the spec -----------------------------------------------------------------------------


def parse_spec(body: object) -> dict:
    """Validate a fault as posted; returns its normalised spec (stored as JSON)."""
    if not isinstance(body, dict):
        raise FieldErrors({"non_field_errors": ["Expected a JSON object."]})
    unknown = set(body) - {"match", "action", "times", "rate", "seed"}
    if unknown:
        raise FieldErrors({key: ["Unknown field."] for key in sorted(unknown)})
    spec = {"match": _match(body.get("match", {})), "action": _action(body.get("action"))}
    if spec["match"].get("target") == "webhook" and spec["action"]["type"] not in WEBHOOK_ACTIONS:
        raise FieldErrors({"action.type": [f"A webhook fault is one of {list(WEBHOOK_ACTIONS)}."]})
    times = body.get("times")
    if times is not None and (not is_whole_number(times) or times < 1):
        raise FieldErrors({"times": ["A whole number >= 1, or null for no limit."]})
    spec["times"] = times
    rate = body.get("rate")
    if rate is not None and (not is_number(rate) or not 0 <= rate <= 1):
        raise FieldErrors({"rate": ["A fraction between 0 and 1, or null for every request."]})
    spec["rate"] = rate
    seed = body.get("seed")
    if seed is not None and not (is_whole_number(seed) or isinstance(seed, str)):
        raise FieldErrors({"seed": ["An integer or a string."]})
    # unseeded: pick one now and show it, so a failing run can be replayed
    spec["seed"] = seed if seed is not None else secrets.randbits(32)
    return spec


def _match(match: object) -> dict:
    if not isinstance(match, dict):
        raise FieldErrors({"match": ["Expected an object."]})
    unknown = set(match) - {"path", "path_regex", "method", "token", "target"}
    if unknown:
        raise FieldErrors({f"match.{key}": ["Unknown field."] for key in sorted(unknown)})
    result: dict = {}
    if "path" in match and "path_regex" in match:
        raise FieldErrors({"match": ["Give 'path' (a glob) or 'path_regex', not both."]})
    path = match.get("path")
    if path is not None:
        if not isinstance(path, str) or not path.startswith(("/", "*")):
            raise FieldErrors({"match.path": ["A path glob starting with '/' or '*'."]})
        result["path"] = path
    regex = match.get("path_regex")
    if regex is not None:
        if not isinstance(regex, str):
            raise FieldErrors({"match.path_regex": ["A regular expression (string)."]})
        try:
            re.compile(regex)
        except re.error as error:
            raise FieldErrors({"match.path_regex": [f"Not a valid regex: {error}."]}) from None
        result["path_regex"] = regex
    method = match.get("method")
    if method is not None:
        methods = [method] if isinstance(method, str) else method
        if (
            not isinstance(methods, list)
            or not methods
            or any(not isinstance(m, str) or m.upper() not in METHODS for m in methods)
        ):
            raise FieldErrors({"match.method": [f"One of {list(METHODS)}, or a list of them."]})
        result["method"] = sorted({m.upper() for m in methods})
    token = match.get("token")
    if token is not None:
        if not isinstance(token, str) or not token:
            raise FieldErrors({"match.token": ["An API token (string)."]})
        result["token"] = token
    target = match.get("target", "request")
    if target not in TARGETS:
        raise FieldErrors({"match.target": [f"One of {list(TARGETS)}."]})
    if target == "webhook":
        if "method" in result or "token" in result:
            raise FieldErrors({"match": ["A webhook fault matches the receiver URL's path only."]})
        result["target"] = target
    return result


def _action(action: object) -> dict:
    if isinstance(action, str):
        action = {"type": action}
    if not isinstance(action, dict) or action.get("type") not in ACTIONS:
        raise FieldErrors({"action.type": [f"One of {list(ACTIONS)}."]})
    kind = action["type"]
    allowed = {
        "status": {"type", "status", "body", "headers"},
        "latency": {"type", "ms"},
        "drop": {"type", "handle"},
        "truncate": {"type"},
        "malformed": {"type"},
    }[kind]
    unknown = set(action) - allowed
    if unknown:
        raise FieldErrors({f"action.{key}": ["Unknown field."] for key in sorted(unknown)})
    if kind == "status":
        return _status_action(action)
    if kind == "latency":
        return {"type": kind, "ms": _latency(action.get("ms"))}
    if kind == "drop":
        handle = action.get("handle", False)
        if not isinstance(handle, bool):
            raise FieldErrors({"action.handle": ["true or false."]})
        return {"type": kind, "handle": handle}
    return {"type": kind}


def _status_action(action: dict) -> dict:
    status = action.get("status")
    if not is_whole_number(status) or not 200 <= status <= 599:
        raise FieldErrors({"action.status": ["An HTTP status code between 200 and 599."]})
    headers = action.get("headers") or {}
    if not isinstance(headers, dict) or any(
        not isinstance(k, str) or not (isinstance(v, str) or is_number(v))
        for k, v in headers.items()
    ):
        raise FieldErrors({"action.headers": ["An object of header names to values."]})
    headers = _one_per_name(headers)
    if any("\n" in k or "\r" in k or "\n" in v or "\r" in v for k, v in headers.items()):
        raise FieldErrors({"action.headers": ["Header names and values are one line each."]})
    if status == 429 and not any(k.lower() == "retry-after" for k in headers):
        headers["Retry-After"] = "1"  # a 429 always carries Retry-After
    if "body" in action:
        body = action["body"]
    else:
        body = {"detail": STATUS_TEXTS.get(status, "Injected fault.")}
    return {"type": "status", "status": status, "headers": headers, "body": body}


def _one_per_name(headers: dict) -> dict[str, str]:
    """Header names compare without letter case: the last spelling given wins, and
    ``Content-Length`` is left out (the reply's is computed from the body it sends)."""
    merged: dict[str, str] = {}
    for name, value in headers.items():
        for known in [k for k in merged if k.lower() == name.lower()]:
            del merged[known]
        if name.lower() != "content-length":
            merged[name] = str(value)
    return merged


def _latency(ms: object) -> list[float]:
    def ok(value: object) -> bool:
        return is_number(value) and 0 <= value <= MAX_LATENCY_MS

    if ok(ms):
        return [float(ms), float(ms)]
    if isinstance(ms, list) and len(ms) == 2 and all(ok(v) for v in ms) and ms[0] <= ms[1]:
        return [float(ms[0]), float(ms[1])]
    raise FieldErrors({"action.ms": [f"Milliseconds (0..{MAX_LATENCY_MS}) or a range [min, max]."]})


# -- the table ----------------------------------------------------------------------------


def create(conn: Connection, spec: dict, now_us: int) -> dict:
    result = conn.execute(
        schema.faults.insert().values(
            spec=json.dumps(spec), remaining=spec["times"], hits=0, seen=0, created_us=now_us
        )
    )
    return get(conn, result.inserted_primary_key[0])


def get(conn: Connection, fault_id: int) -> dict:
    row = conn.execute(select(schema.faults).where(schema.faults.c.id == fault_id)).first()
    if row is None:
        raise NotFound()
    return _public(row)


def list_all(conn: Connection) -> list[dict]:
    rows = conn.execute(select(schema.faults).order_by(schema.faults.c.id)).all()
    return [_public(row) for row in rows]


def delete(conn: Connection, fault_id: int) -> None:
    if conn.execute(schema.faults.delete().where(schema.faults.c.id == fault_id)).rowcount == 0:
        raise NotFound()


def clear(conn: Connection) -> int:
    return conn.execute(schema.faults.delete()).rowcount


def _public(row) -> dict:
    spec = json.loads(row.spec)
    return {
        "id": row.id,
        **spec,
        "remaining": row.remaining,
        "hits": row.hits,
        "seen": row.seen,
        "active": row.remaining is None or row.remaining > 0,
        "created": iso_z(row.created_us),
    }


# -- matching and deciding ---------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    id: int
    spec: dict
    path: re.Pattern | None
    methods: frozenset[str] | None
    token: str | None
    target: str = "request"

    def matches(self, method: str, path: str, token: str | None, target: str = "request") -> bool:
        if self.target != target:
            return False
        if self.methods is not None and method not in self.methods:
            return False
        if self.token is not None and token != self.token:
            return False
        return self.path is None or self.path.search(path) is not None


def compile_fault(fault_id: int, spec: dict) -> Fault:
    match = spec.get("match", {})
    if "path" in match:
        # a glob: '*' spans '/', and the trailing slash never matters (paths answer both)
        glob = match["path"].rstrip("/") or "/"
        pattern = re.compile(r"\A" + fnmatch.translate(glob)[:-2] + r"/?\Z", re.S)
    elif "path_regex" in match:
        pattern = re.compile(match["path_regex"])
    else:
        pattern = None
    methods = frozenset(match["method"]) if "method" in match else None
    return Fault(
        fault_id, spec, pattern, methods, match.get("token"), match.get("target", "request")
    )


def active_faults(conn: Connection) -> list[Fault]:
    c = schema.faults.c
    rows = conn.execute(
        select(c.id, c.spec).where((c.remaining.is_(None)) | (c.remaining > 0)).order_by(c.id)
    ).all()
    return [compile_fault(row.id, json.loads(row.spec)) for row in rows]


@dataclass(frozen=True)
class Hit:
    """A fault that applies to this request, with its own reproducible random source."""

    fault_id: int
    action: dict
    rng: random.Random
    exhausted: bool  # this hit used up the fault's budget


def claim(conn: Connection, fault: Fault) -> Hit | None:
    """Count one matching request against ``fault``; a hit consumes one of its ``times``."""
    c = schema.faults.c
    row = conn.execute(select(c.remaining, c.seen).where(c.id == fault.id)).first()
    if row is None or (row.remaining is not None and row.remaining <= 0):
        return None
    seen = row.seen + 1
    rng = random.Random(f"{fault.spec['seed']}:{fault.id}:{seen}")
    rate = fault.spec.get("rate")
    applies = rate is None or rng.random() < rate
    values: dict = {"seen": seen}
    if applies:
        values["hits"] = c.hits + 1
        if row.remaining is not None:
            values["remaining"] = row.remaining - 1
    conn.execute(schema.faults.update().where(c.id == fault.id).values(**values))
    if not applies:
        return None
    exhausted = row.remaining is not None and row.remaining - 1 <= 0
    return Hit(fault.id, fault.spec["action"], rng, exhausted)


def webhook_hit(store, url: str) -> Hit | None:
    """The fault, if any, that hits a webhook delivery to ``url`` (consuming its budget)."""
    path = urlsplit(url).path or "/"
    for fault in store.query(active_faults):
        if fault.matches("POST", path, None, target="webhook"):
            hit = store.transact(lambda conn, fault=fault: claim(conn, fault))
            if hit is not None:
                return hit
    return None
