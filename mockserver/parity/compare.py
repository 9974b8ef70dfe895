"""Comparing a replayed reply with the recorded one, by a vendor's parity rules.

Status and content type must be equal. A JSON body must have the same structure (keys,
types, list lengths) and the same values, except where the vendor's rules
(``core/parity_rules.py``) say a field is compared by form: ids, timestamps and URLs by
their format, links by what they lead to, volatile values by their type only. A verdict is
``identical``, ``equal except volatile`` (only such fields differ, in value, not form) or
``different``, with the JSON path of each difference.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..core.parity_rules import ParityRules

IDENTICAL = "identical"
EQUAL_EXCEPT_VOLATILE = "equal except volatile"
DIFFERENT = "different"
#: query parameters that carry a position in a list, not a filter
POSITION_PARAMS = ("cursor", "page")
_INDEX = re.compile(r"\[\d+\]")
_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:(?P<sep>[T ])\d{2}:\d{2}(?::\d{2})?(?:\.(?P<fraction>\d+))?"
    r"(?P<zone>Z|z|[+-]\d{2}:?\d{2})?)?"
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@dataclass
class Difference:
    path: str
    recorded: str
    replayed: str

    def __str__(self) -> str:
        return f"{self.path}: recorded {self.recorded}, replayed {self.replayed}"


def request_key(path: str, query: list) -> tuple:
    """A request's path and parameters, in an order-free form."""
    return (path.rstrip("/"), tuple(sorted(tuple(pair) for pair in query)))


@dataclass
class Aliases:
    """What a recorded value is called in the replay: links and URLs (the whole URL), ids
    (by their field's name), learnt while comparing, used to rewrite later requests."""

    urls: dict[str, str] = field(default_factory=dict)
    ids: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the replay's URL by the recorded one's path and parameters (what a request names)
    followed: dict[tuple, str] = field(default_factory=dict)

    def add_url(self, recorded: str, replayed: str) -> None:
        self.urls[recorded] = replayed
        parts = urlsplit(recorded)
        self.followed[request_key(parts.path, parse_qsl(parts.query, True))] = replayed

    def url_for(self, path: str, query: list) -> str | None:
        """The replay's URL for a request the recording sent to a recorded link or URL."""
        return self.followed.get(request_key(path, query))

    def add_id(self, name: str, recorded: object, replayed: object) -> None:
        self.ids.setdefault(name, {})[str(recorded)] = str(replayed)

    def id_for(self, name: str, recorded: str) -> str:
        return self.ids.get(name, {}).get(recorded, recorded)


@dataclass
class Verdict:
    outcome: str
    differences: list[Difference] = field(default_factory=list)
    volatile: list[str] = field(default_factory=list)  # paths whose values differ by rule


def kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def timestamp_format(value: object) -> str:
    """A timestamp's format as a pattern: ``YYYY-MM-DDThh:mm:ssZ``,
    ``YYYY-MM-DDThh:mm:ss.ffffff``, ``YYYY-MM-DD``..."""
    if not isinstance(value, str):
        return kind(value)
    found = _TIMESTAMP.fullmatch(value)
    if found is None:
        return f"not a timestamp ({value!r})"
    if found.group("sep") is None:
        return "YYYY-MM-DD"
    seconds = ":ss" if found.group("fraction") is not None or value[16:17] == ":" else ""
    fraction = "." + "f" * len(found.group("fraction")) if found.group("fraction") else ""
    zone = found.group("zone") or ""
    offset = "Z" if zone in ("Z", "z") else ("+hh:mm" if ":" in zone else "+hhmm" if zone else "")
    return f"YYYY-MM-DD{found.group('sep')}hh:mm{seconds}{fraction}{offset}"


def id_form(value: object) -> str:
    if isinstance(value, str):
        if value.isascii() and value.isdigit():
            return "digits"
        return "uuid" if _UUID.fullmatch(value) else "text"
    return kind(value)


def url_form(value: object) -> str:
    if not isinstance(value, str):
        return kind(value)
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return "absolute URL"
    return "relative URL" if value.startswith("/") else f"literal {value!r}"


def link_behaviour(value: object, translate: Callable[[str], str] = str) -> str:
    """A page link as what it does: null, or its path (``translate``: as the replay names
    it) and its filters, not its position."""
    if not isinstance(value, str):
        return kind(value)
    parts = urlsplit(value)
    filters = sorted(p for p in parse_qsl(parts.query, True) if p[0] not in POSITION_PARAMS)
    return f"a link to {translate(parts.path).rstrip('/')}/?{urlencode(filters)}"


class Comparer:
    """One reply's comparison under a vendor's rules (``aliases`` shared by the run)."""

    def __init__(
        self, rules: ParityRules, aliases: Aliases, translate: Callable[[str], str] = str
    ) -> None:
        self.rules = rules
        self.aliases = aliases
        self.translate = translate  # a recorded path as the replay names it
        self.differences: list[Difference] = []
        self.volatile: list[str] = []

    def rule(self, path: str) -> str | None:
        general = _INDEX.sub("[]", path)
        for name in ("links", "ids", "timestamps", "urls", "volatile"):
            if any(fnmatchcase(general, pattern) for pattern in getattr(self.rules, name)):
                return name
        return None

    def compare(self, recorded: object, replayed: object, path: str = "$") -> None:
        rule = self.rule(path)
        if rule is not None and not isinstance(recorded, dict | list):
            self._by_rule(rule, recorded, replayed, path)
        elif kind(recorded) != kind(replayed):
            self._differ(path, kind(recorded), kind(replayed))
        elif isinstance(recorded, dict):
            for key in recorded:
                if key not in replayed:
                    self._differ(f"{path}.{key}", "present", "missing")
                else:
                    self.compare(recorded[key], replayed[key], f"{path}.{key}")
            for key in replayed:
                if key not in recorded:
                    self._differ(f"{path}.{key}", "missing", "present")
        elif isinstance(recorded, list):
            if len(recorded) != len(replayed):
                self._differ(path, f"{len(recorded)} items", f"{len(replayed)} items")
            for index, (left, right) in enumerate(zip(recorded, replayed, strict=False)):
                self.compare(left, right, f"{path}[{index}]")
        elif recorded != replayed:
            self._differ(path, _short(recorded), _short(replayed))

    def _by_rule(self, rule: str, recorded: object, replayed: object, path: str) -> None:
        if recorded == replayed:
            return
        form = {
            "links": link_behaviour,
            "ids": id_form,
            "timestamps": timestamp_format,
            "urls": url_form,
            "volatile": kind,
        }[rule]
        mine = link_behaviour(recorded, self.translate) if rule == "links" else form(recorded)
        if mine != form(replayed):
            self._differ(path, str(form(recorded)), str(form(replayed)))
            return
        self.volatile.append(path)
        if rule in ("links", "urls"):
            self.aliases.add_url(recorded, replayed)
        elif rule == "ids":
            self.aliases.add_id(path.rsplit(".", 1)[-1], recorded, replayed)

    def _differ(self, path: str, recorded: str, replayed: str) -> None:
        self.differences.append(Difference(path, recorded, replayed))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def judge(
    recorded: dict,
    replayed: dict,
    rules: ParityRules,
    aliases: Aliases,
    translate: Callable[[str], str] = str,
) -> Verdict:
    """Compare two replies as the cassette keeps them (``status``, ``headers``, ``body``);
    ``translate``: a recorded path as the replay names it (its ids)."""
    comparer = Comparer(rules, aliases, translate)
    if recorded["status"] != replayed["status"]:
        comparer._differ("status", str(recorded["status"]), str(replayed["status"]))
    left_type = recorded["headers"].get("content-type", "").split(";")[0].strip().lower()
    right_type = replayed["headers"].get("content-type", "").split(";")[0].strip().lower()
    if left_type != right_type:
        comparer._differ("content-type", left_type or "none", right_type or "none")
    left, right = recorded["body"] or {}, replayed["body"] or {}
    if "json" in left and "json" in right:
        comparer.compare(left["json"], right["json"])
    elif left != right:
        comparer._differ("body", _body_form(left), _body_form(right))
    if comparer.differences:
        return Verdict(DIFFERENT, comparer.differences, comparer.volatile)
    return Verdict(EQUAL_EXCEPT_VOLATILE if comparer.volatile else IDENTICAL, [], comparer.volatile)


def _body_form(body: dict) -> str:
    if not body:
        return "empty"
    if "file" in body:
        return f"{body['file']['size']} bytes sha256 {body['file']['sha256'][:12]}"
    if "text" in body:
        return _short(body["text"])
    return _short(body.get("json"))
