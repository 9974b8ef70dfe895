"""What a mutant is: a deliberate, realistic deviation from a vendor's contract.

A mutant names the exchanges it touches (a method and a path pattern) and how it rewrites
them: the request before the API sees it, the reply before the client does. Each vendor's
descriptor carries its own (``Vendor.mutants``); the three at the end of this module are
those every vendor API can have. The control plane switches them on and applies them (``control/mutants.py``): feature
code never knows about them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from . import schema
from .web import whole_reply

MAX_PAGE = 200


@dataclass
class Reply:
    """A whole reply of the API, as a mutant may rewrite it."""

    status: str  # "200 OK"
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def code(self) -> int:
        return int(self.status.split()[0])

    def page(self) -> dict | None:
        """The body as a paginated envelope (a JSON object with ``results``), else None."""
        found = parse_json(self.body)
        return found if isinstance(found, dict) and "results" in found else None

    def set_json(self, value: object) -> None:
        self.body = json.dumps(value).encode()


def parse_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


@dataclass
class Exchange:
    """One request to a vendor API while mutants are on."""

    environ: dict
    method: str
    path: str
    query: dict[str, str]  # as the client sent it (a request mutant may change the environ's)
    emulator: Any
    app: Callable  # the API (WSGI): a mutant may ask it again, e.g. for the next page
    #: set by a request rewrite to answer in the API's place (the API is then not asked)
    answer: Reply | None = None

    def call(self, environ: dict) -> Reply:
        """Run the API to completion on ``environ`` and return its whole reply."""
        return Reply(*whole_reply(self.app, environ))


@dataclass(frozen=True)
class Mutant:
    """One deviation: which exchanges it touches and how it rewrites them."""

    name: str
    description: str
    #: a regular expression the whole path must match ("": every path of the vendor APIs)
    path: str = ""
    methods: frozenset[str] = frozenset()  # empty: every method
    #: rewrites ``exchange.environ`` before the API sees the request
    request: Callable[[Exchange], None] | None = None
    #: rewrites the API's reply in place before the client sees it
    reply: Callable[[Exchange, Reply], None] | None = None
    _pattern: re.Pattern | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", re.compile(self.path) if self.path else None)

    def touches(self, method: str, path: str) -> bool:
        if self.methods and method not in self.methods:
            return False
        return self._pattern is None or self._pattern.fullmatch(path) is not None


# -- the mutants every vendor API can have ----------------------------------------------------


def _any_token(exchange: Exchange) -> None:
    if exchange.environ.get("HTTP_AUTHORIZATION"):
        return
    table = schema.tokens
    token = exchange.emulator.store.query(
        lambda conn: conn.execute(
            select(table.c.token).order_by(table.c.account_id).limit(1)
        ).scalar()
    )
    if token:
        exchange.environ["HTTP_AUTHORIZATION"] = f"Token {token}"


def _merge_pages(exchange: Exchange, reply: Reply) -> None:
    raw = exchange.query.get("page_size", "")
    if reply.code != 200 or not (raw.isascii() and raw.isdigit()) or int(raw) <= MAX_PAGE:
        return
    wanted = int(raw)
    page = reply.page()
    if page is None or not isinstance(page.get("results"), list):
        return
    while page.get("next") and len(page["results"]) < wanted:
        follow = dict(exchange.environ)
        follow["QUERY_STRING"] = urlsplit(page["next"]).query
        more = exchange.call(follow)
        following = parse_json(more.body) if more.code == 200 else None
        if not isinstance(following, dict):
            break
        page["results"].extend(following.get("results", []))
        page["next"] = following.get("next")
    page["results"] = page["results"][:wanted]
    reply.set_json(page)


def _retry_after_in_ms(exchange: Exchange, reply: Reply) -> None:
    if reply.code != 429:
        return
    reply.headers = [
        (
            name,
            str(int(value) * 1000)
            if name.lower() == "retry-after" and value.isascii() and value.isdigit()
            else value,
        )
        for name, value in reply.headers
    ]


#: applied before a vendor's own requests' rewrites and, for replies, in this order around
#: them: ``ignored_auth`` and ``unclamped_page_size`` first, ``wrong_retry_after`` last
IGNORED_AUTH = Mutant(
    "ignored_auth",
    "A request without credentials is served as the first account's.",
    request=_any_token,
)
UNCLAMPED_PAGE_SIZE = Mutant(
    "unclamped_page_size",
    "page_size above 200 is honoured: pages are merged up to the size asked for.",
    methods=frozenset({"GET"}),
    reply=_merge_pages,
)
WRONG_RETRY_AFTER = Mutant(
    "wrong_retry_after",
    "429 replies give Retry-After in milliseconds instead of seconds.",
    reply=_retry_after_in_ms,
)
