"""Replaying a cassette against an emulator, as a contract.

The emulator is reset and seeded from what the cassette implies (``implied_seed``) or
from a given seed, with its clock frozen at the first recorded instant. Each request is
then sent again in the recorded order with the clock set to its recorded instant, its
token replaced by the replay's, and whatever named the recorded world replaced by its
name in the replay: a license id in a path (from the seed), a link or URL a client
followed (the replay's own link, learnt when the two replies were compared: cursors are
compared by where they lead), an id a request quotes (``task_id=…``). Each reply is
compared with the recorded one (``compare``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from ..core.parity_rules import ParityRules
from ..vendors import VENDORS
from .cassette import (
    KEPT_REPLY_HEADERS,
    Cassette,
    decode_body,
    encode_body,
    kept_headers,
    sha256,
)
from .compare import Aliases, Verdict, judge
from .implied_seed import VA, VA_LICENSE_PATH, implied_seed
from .redaction import Redactor

TIMEOUT = 120.0
#: how long a replay waits for due work another worker of the emulator holds
SETTLE_TIMEOUT = 60.0


@dataclass
class Result:
    exchange: dict
    replayed: dict
    verdict: Verdict


def rules_for(path: str) -> ParityRules:
    for vendor in VENDORS:
        if path.startswith(vendor.url_prefix):
            return vendor.parity
    return ParityRules()


class Replay:
    """One run of a cassette against the emulator at ``url``."""

    def __init__(
        self,
        cassette: Cassette,
        url: str,
        *,
        seed: dict | None = None,
        control_token: str | None = None,
    ) -> None:
        self.cassette = cassette
        self.url = url.rstrip("/")
        self.seed = seed
        self.session = requests.Session()
        self.session.trust_env = False
        self.control = {"Authorization": f"Bearer {control_token}"} if control_token else {}
        self.aliases = Aliases()
        self.license_ids: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        self._clock: str | None = None

    # -- the world ----------------------------------------------------------------------------

    def prepare(self, exchanges: list[dict]) -> None:
        """Reset the emulator and seed it; learn its tokens and license ids (a recorded
        license is the seeded one of the same code)."""
        implied = implied_seed(exchanges)
        seed, self.tokens = implied.seed, dict(implied.tokens)
        if self.seed is not None:  # a given seed: its tokens stand for the recorded ones
            seed = self.seed
            given = [account.get("token") for account in seed.get("accounts", [])]
            self.tokens.update(zip(implied.seeded, given, strict=False))
        self._control("POST", "/_mock/reset?seed=none")
        if exchanges:
            self.set_clock(exchanges[0]["time"])
        seeded = self._control("POST", "/_mock/seed", json=seed)
        created = {
            license["code"]: str(license["id"])
            for account in seeded.get("accounts", [])
            for license in account.get("licenses", [])
        }
        self.license_ids = {
            recorded: created[code]
            for recorded, code in implied.license_codes.items()
            if code in created
        }

    def set_clock(self, instant: str) -> None:
        """Freeze the emulator's clock at ``instant``, once the work due by then is done
        (a clock move reports work another worker still holds: it is waited for)."""
        if instant == self._clock:
            return
        moved = self._control("POST", "/_mock/clock", json={"set": instant})
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while any(job.get("held") for job in moved.get("pending", ())):
            if time.monotonic() > deadline:
                raise RuntimeError(f"work due by {instant} is still held: {moved['pending']}")
            moved = self._control("POST", "/_mock/clock", json={"advance": 0})
        self._clock = instant

    def _control(self, method: str, path: str, **options) -> dict:
        reply = self.session.request(
            method, self.url + path, headers=self.control, timeout=TIMEOUT, **options
        )
        if reply.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {reply.status_code} {reply.text[:300]}")
        return reply.json()

    # -- the exchanges ------------------------------------------------------------------------

    def run(self) -> list[Result]:
        exchanges = self.cassette.exchanges()
        self.prepare(exchanges)
        return [self.replay(exchange) for exchange in exchanges]

    def replay(self, exchange: dict) -> Result:
        self.set_clock(exchange["time"])
        recorded = exchange["request"]
        path, query = self.where(recorded)
        body, content_type = decode_body(recorded["body"], self.cassette)
        headers = {
            name: value
            for name, value in recorded["headers"].items()
            if name in ("content-type", "accept")
        }
        if content_type:
            headers["content-type"] = content_type
        token = self._token(recorded["headers"].get("authorization", ""))
        if token:
            headers["authorization"] = token
        reply = self.session.request(
            recorded["method"],
            self.url + path,
            params=query,
            data=self._ids_in_body(recorded["body"], body),
            headers=headers,
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        replayed = self.as_recorded(reply)
        rules = rules_for(recorded["path"])
        verdict = judge(exchange["response"], replayed, rules, self.aliases, self.translate)
        return Result(exchange, replayed, verdict)

    def where(self, recorded: dict) -> tuple[str, list[tuple[str, str]]]:
        """The path and query to send: a followed link or URL as the replay names it, a
        license id as seeded, quoted ids as the replay's."""
        replayed = self.aliases.url_for(recorded["path"], recorded["query"])
        if replayed is not None:
            target = urlsplit(replayed)
            return target.path, parse_qsl(target.query, True)
        query = [(name, self._id(name, value)) for name, value in recorded["query"]]
        return self.translate(recorded["path"]), query

    def translate(self, path: str) -> str:
        """A recorded path with the license id it names as seeded in the replay."""
        found = VA_LICENSE_PATH.match(path) if path.startswith(VA) else None
        if found and found.group(1) in self.license_ids:
            return f"{VA}{self.license_ids[found.group(1)]}{path[found.end(1) :]}"
        return path

    def _id(self, name: str, value: str) -> str:
        if name == "license" and value in self.license_ids:
            return self.license_ids[value]
        return self.aliases.id_for(name, value) if name.endswith("id") else value

    def _ids_in_body(self, recorded: dict | None, body: bytes) -> bytes:
        """A JSON or form body with the ids it quotes as the replay names them."""
        if recorded and isinstance(recorded.get("json"), dict):
            fields = {name: self._quoted(name, value) for name, value in recorded["json"].items()}
            return json.dumps(fields).encode()
        text = recorded.get("text", "") if recorded else ""
        pairs = parse_qsl(text, True) if "=" in text else []
        if pairs and urlencode(pairs) == text:
            return urlencode([(name, self._id(name, value)) for name, value in pairs]).encode()
        return body

    def _quoted(self, name: str, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, str | int):
            return value
        mapped = self._id(name, str(value))
        if mapped == str(value):
            return value
        return int(mapped) if isinstance(value, int) and mapped.isdigit() else mapped

    def _token(self, header: str) -> str | None:
        scheme, _, credentials = header.partition(" ")
        if not header:
            return None
        return f"{scheme} {self.tokens.get(credentials.strip(), credentials.strip())}"

    def as_recorded(self, reply: requests.Response) -> dict:
        """The replay's reply in the cassette's form, the replay's tokens shown as the
        recording's placeholders (so that an echoed token compares equal)."""
        redactor = Redactor({token: name for name, token in self.tokens.items()})
        headers = list(reply.headers.items())
        return {
            "status": reply.status_code,
            "headers": kept_headers(headers, KEPT_REPLY_HEADERS, redactor),
            "body": encode_body(
                reply.content, reply.headers.get("Content-Type", ""), sha256, redactor
            ),
        }
