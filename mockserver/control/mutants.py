"""Mutant mode: deliberate, realistic deviations from the vendor contract.

A mutant is a bug the emulator can be told to have, so that the contract suite can be
shown to catch it (the suite run against each mutant must fail: the mutation score). Each
is a small object (``core.mutant.Mutant``: the exchanges it touches, how it rewrites
them) carried by its vendor's descriptor, or one of ``core.mutant``'s that every API can
have. This module keeps the switch, the request layer that applies the switched-on ones,
and the control routes: feature code never knows about them.

Switched on by ``mockserver serve --mutant NAME`` (repeatable), ``MOCKSERVER_MUTANTS=a,b``
or ``POST /_mock/mutants {"active": [...]}``. The active set lives in the world's store
(``meta``), so every worker process and every host sees a change on its next request; a
process reads it again only when the configuration's version moved. The configured set is applied
when the world is made or reset, and when a process starts with another configured set
than the one the world was last given; a respawned worker or another host with the same
configuration leaves a switched set alone.
"""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, request
from sqlalchemy import select

from ..core import schema
from ..core.errors import FieldErrors
from ..core.mutant import IGNORED_AUTH, UNCLAMPED_PAGE_SIZE, WRONG_RETRY_AFTER, Exchange, Mutant
from ..core.web import json_response
from ..vendors import VENDORS

#: every registered mutant, in the order they apply (requests, then replies)
REGISTRY: tuple[Mutant, ...] = (
    IGNORED_AUTH,
    UNCLAMPED_PAGE_SIZE,
    *(mutant for vendor in VENDORS for mutant in vendor.mutants),
    WRONG_RETRY_AFTER,
)
#: name -> what it does
MUTANTS: dict[str, str] = {mutant.name: mutant.description for mutant in REGISTRY}
VENDOR_PREFIXES = tuple(vendor.url_prefix for vendor in VENDORS)
#: the clock and store version the mutant layer read, handed on to the request's own
#: reading (``core.web``) so that it is made once
OBSERVED = "mockserver.observed"


def parse_names(text: str | list[str] | None) -> list[str]:
    """``a,b`` or a list → known mutant names; unknown names are an error."""
    names = text if isinstance(text, list) else [p.strip() for p in (text or "").split(",")]
    names = [name for name in names if name]
    unknown = [name for name in names if name not in MUTANTS]
    if unknown:
        raise ValueError(f"unknown mutant(s) {unknown}; known: {sorted(MUTANTS)}")
    return sorted(set(names))


class MutantSwitch:
    """The active set, in the world's ``meta`` row ``mutants``: ``{"active": [...],
    "configured": [...]}`` (the configured set it was last given, see the module
    docstring). Read again only when the configuration's version moved (per thread)."""

    KEY = "mutants"

    def __init__(self, store, configured: list[str]) -> None:
        self.store = store
        self.configured = configured
        self._local = threading.local()

    def start(self) -> None:
        """At a process's start: give the world this configuration's set if it was last
        given another (or none: a new world)."""
        if self._stored(self.store.query(self._read)).get("configured") == self.configured:
            return

        def work(conn) -> None:
            if self._stored(self._read(conn)).get("configured") != self.configured:
                self._write(conn, self.configured)

        self.store.transact(work)

    def restore(self, conn) -> None:
        """The world was reset: back to the configured set (in the reset's transaction)."""
        self._write(conn, self.configured)

    def set(self, names: list[str]) -> None:
        self.store.transact(lambda conn: self._write(conn, names))
        self._local.seen = None

    def active(self, version: tuple | None = None) -> frozenset[str]:
        """The active set; ``version``: the configuration's version this request observed
        (``meta`` is part of it)."""
        seen = getattr(self._local, "seen", None)
        if version is not None and seen is not None and seen[0] == version:
            return seen[1]
        active = frozenset(self._stored(self.store.query(self._read)).get("active", ()))
        self._local.seen = (version, active) if version is not None else None
        return active

    def _read(self, conn) -> str | None:
        meta = schema.meta
        query = select(meta.c.value).where(meta.c.key == self.KEY)
        return conn.execute(query).scalar_one_or_none()

    def _write(self, conn, names: list[str]) -> None:
        meta = schema.meta
        value = json.dumps({"active": sorted(names), "configured": self.configured})
        conn.execute(meta.delete().where(meta.c.key == self.KEY))
        conn.execute(meta.insert().values(key=self.KEY, value=value))

    @staticmethod
    def _stored(found: str | None) -> dict:
        try:
            value = json.loads(found) if found else {}
        except ValueError:
            value = {}
        return value if isinstance(value, dict) else {}


class MutantLayer:
    """Applies the switched-on mutants that touch a vendor request, in registry order;
    passes everything else as it is."""

    def __init__(self, wsgi_app, emulator, switch: MutantSwitch) -> None:
        self.wsgi_app = wsgi_app
        self.emulator = emulator
        self.switch = switch

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(VENDOR_PREFIXES):
            return self.wsgi_app(environ, start_response)
        observed = environ.get(OBSERVED) or self.emulator.duework.observe()
        environ[OBSERVED] = observed
        active = self.switch.active(observed[2])
        if not active:
            return self.wsgi_app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        touching = [m for m in REGISTRY if m.name in active and m.touches(method, path)]
        if not touching:
            return self.wsgi_app(environ, start_response)
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        exchange = Exchange(environ, method, path, query, self.emulator, self.wsgi_app)
        for mutant in touching:
            if mutant.request is not None:
                mutant.request(exchange)
        reply = exchange.answer or exchange.call(environ)
        for mutant in touching:
            if mutant.reply is not None:
                mutant.reply(exchange, reply)
        headers = [(n, v) for n, v in reply.headers if n.lower() != "content-length"]
        headers.append(("Content-Length", str(len(reply.body))))
        start_response(reply.status, headers)
        return [reply.body]


# -- control plane ----------------------------------------------------------------------------

blueprint = Blueprint("mutants", __name__, url_prefix="/_mock")


def _body() -> dict:
    switch = current_app.extensions["mockserver_mutants"]
    return {"active": sorted(switch.active()), "available": MUTANTS}


@blueprint.get("/mutants")
def get_mutants():
    return json_response(_body())


@blueprint.post("/mutants")
def set_mutants():
    try:
        body = request.get_json(silent=True)  # declared JSON only: no text/plain from a page
    except RecursionError:  # nested too deep to read: not a list of names either
        body = None
    names = body.get("active") if isinstance(body, dict) else None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise FieldErrors({"active": ["A list of mutant names."]})
    try:
        chosen = parse_names(names)
    except ValueError as error:
        raise FieldErrors({"active": [str(error)]}) from None
    current_app.extensions["mockserver_mutants"].set(chosen)
    return json_response(_body())
