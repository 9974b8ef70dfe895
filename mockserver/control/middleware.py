"""The control plane's request layers (their order is ``control/chain.py``'s): the
control-plane guard and control calls for ``/_mock/``, the journal and the faults for
everything else.

They sit outside Flask so they see every request exactly as the client sent it and every
reply exactly as it leaves (status, headers, body), and so an injected fault can do what
a view cannot: delay before handling, answer instead of the app, or break the
connection. Control-plane paths (``/_mock/``) are never faulted nor journaled; the
control token, when configured, is checked for all of them.

Connection faults, as a client sees them (the WSGI server gives an application no way
to close a socket before the status line, so both send the headers first):

* ``drop``: the status line and headers go out, promising a body, then the connection
  is closed without it. ``requests`` raises ``requests.exceptions.ChunkedEncodingError``
  ("Connection broken: IncompleteRead"), under heavy load occasionally
  ``requests.ConnectionError``; in-process interception raises the former.
* ``truncate``: the real reply, with its full ``Content-Length``, cut after half its
  body (same errors).
"""

from __future__ import annotations

import io
import json
import re
import time
from typing import NamedTuple

from ..core import outages
from ..core.clock import wall_us
from ..core.faults import Fault, Hit, active_faults, claim
from ..core.shared import SharedState
from ..core.web import OBSERVED, whole_reply
from . import credentials, origin_guard
from .journal import BODY_EXCERPT, Entry, Journal, TokenKeys, body_excerpt

SMALL_REPLY = 256 * 1024  # replies up to this size are journaled as soon as they are made
BREAK_DELAY = 0.02  # seconds between the last bytes sent and the broken connection
NEXT_LINK = re.compile(rb'"next": ?(null|"([^"\\]*)")')
#: control calls that change what other workers must see or that need the journal written
SYNC_BEFORE = ("/_mock/reset", "/_mock/clock")


class ConnectionDropped(Exception):
    """Raised inside the reply to make the server abort the connection (injected fault)."""

    def __init__(self, fault_id: int, kind: str) -> None:
        super().__init__(f"fault {fault_id}: connection {kind} on purpose")
        self.fault_id = fault_id
        self.kind = kind


class FaultBook:
    """This process's view of the active faults, refreshed when the shared token changes."""

    def __init__(self, store, shared: SharedState | None) -> None:
        self.store = store
        self.shared = shared
        self._token: object = None
        self._faults: list[Fault] = []

    def current(self, observed: tuple | None = None) -> list[Fault]:
        """``observed``: the configuration's version this request read (a shared
        database's faults token: its changes step it)."""
        if self.shared is None:
            return self.store.query(active_faults)
        # read before the table: a change after it re-reads
        token = self.shared.faults_token(observed)
        if token != self._token:
            self._faults = self.store.query(active_faults)
            self._token = token
        return self._faults

    def pick(
        self, method: str, path: str, token: str | None, observed: tuple | None = None
    ) -> Hit | None:
        for fault in self.current(observed):
            if not fault.matches(method, path, token):
                continue
            hit = self.store.transact(lambda conn, fault=fault: claim(conn, fault))
            if hit is not None:
                if hit.exhausted:
                    self.changed()
                return hit
        return None

    def changed(self) -> None:
        """Tell every worker the fault table changed (after the change is committed)."""
        if self.shared is not None:
            self.shared.touch_faults()
        self._token = None


class ControlPlane:
    """What the control routes and the middleware share in one process."""

    def __init__(self, emulator) -> None:
        config = emulator.config
        self.shared = emulator.backend.shared
        self.journal = Journal(
            emulator.journal_store,
            emulator.clock,
            config.journal_size,
            self.shared,
            secret=config.control_token or None,
            immediate=emulator.backend.journal_immediate,
            keys=TokenKeys(emulator.store),
        )
        self.faults = FaultBook(emulator.store, self.shared)
        #: the request's reading of the clock and the store's versions
        self.observe = emulator.duework.observe

    def close(self) -> None:
        self.journal.close()


#: the fault a request met, as the fault layer tells the journal layer (``FaultNote``)
FAULT = "mockserver.fault"
#: faults whose reply is broken on purpose: streamed as is, never read as a page
BROKEN = ("drop", "truncate", "malformed")


class FaultNote(NamedTuple):
    fault_id: int
    kind: str  # the action: latency, status, drop, truncate, malformed


def _control_path(environ) -> bool:
    return (environ.get("PATH_INFO") or "/").startswith("/_mock")


class ControlGuard:
    """Layer: the control plane's door. ``/_mock/`` answers only with the control plane
    on, and only to callers holding the control token when one is configured."""

    def __init__(self, wsgi_app, config) -> None:
        self.wsgi_app = wsgi_app
        self.config = config

    def __call__(self, environ, start_response):
        token = self.config.control_token
        if not token or not self.config.control_enabled or not _control_path(environ):
            return self.wsgi_app(environ, start_response)
        if _control_authorised(environ, token):
            return self.wsgi_app(environ, start_response)
        body = b'{"detail": "Control-plane token required."}'
        start_response(
            "401 Unauthorized",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("WWW-Authenticate", credentials.challenge(environ.get("PATH_INFO") or "/")),
            ],
        )
        return [body]


class OriginGuard:
    """Layer: the control plane refuses cross-site callers (``origin_guard``): a page of
    another origin can neither read ``/_mock/`` nor change the world through it."""

    def __init__(self, wsgi_app, config) -> None:
        self.wsgi_app = wsgi_app
        self.config = config

    def __call__(self, environ, start_response):
        if self.config.control_enabled and _control_path(environ):
            refused = origin_guard.refusal(environ, self.config.public_base_url)
            if refused is not None:
                return origin_guard.respond(start_response, *refused)
        return self.wsgi_app(environ, start_response)


class ControlCalls:
    """Layer: what a control call means for every worker. The journal is written before
    a reset or a clock change (its entries keep their times), and after any change every
    worker reads the fault table again (a reset empties it, a fault call changes it)."""

    def __init__(self, wsgi_app, plane: ControlPlane, config) -> None:
        self.wsgi_app = wsgi_app
        self.plane = plane
        self.config = config

    def __call__(self, environ, start_response):
        if not self.config.control_enabled or not _control_path(environ):
            return self.wsgi_app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method != "GET" and (environ.get("PATH_INFO") or "").rstrip("/") in SYNC_BEFORE:
            self.plane.journal.sync()
        result = self.wsgi_app(environ, start_response)
        if method not in ("GET", "HEAD", "OPTIONS"):
            self.plane.faults.changed()
        return result


class JournalLayer:
    """Layer: every API exchange into the request journal, as the client saw it (a
    fault's reply included: the fault layer is inside this one)."""

    def __init__(self, wsgi_app, plane: ControlPlane) -> None:
        self.wsgi_app = wsgi_app
        self.plane = plane

    def __call__(self, environ, start_response):
        if not self.plane.journal.enabled or _control_path(environ):
            return self.wsgi_app(environ, start_response)
        return _Recorder(self, environ).run(start_response)


class FaultLayer:
    """Layer: the injected faults (``core/faults.py``). The first active fault matching a
    request replaces its reply, delays it or breaks the connection (see the module
    docstring); the fault is noted in the environ for the journal."""

    def __init__(self, wsgi_app, plane: ControlPlane) -> None:
        self.wsgi_app = wsgi_app
        self.plane = plane

    def __call__(self, environ, start_response):
        if _control_path(environ):
            return self.wsgi_app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        # a browser's CORS preflight is not the client's request: never faulted
        if method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            return self.wsgi_app(environ, start_response)
        path = environ.get("PATH_INFO") or "/"
        observed = environ[OBSERVED] = self.plane.observe()  # the request's one reading
        hit = self.plane.faults.pick(method, path, _api_token(environ), observed[2])
        if hit is None:
            return self.wsgi_app(environ, start_response)
        kind = hit.action["type"]
        environ[FAULT] = FaultNote(hit.fault_id, kind)
        del environ[OBSERVED]  # the fault's write (and a delay) come before the request
        if kind == "latency":
            low, high = hit.action["ms"]
            time.sleep((low if low == high else hit.rng.uniform(low, high)) / 1000)
            return self.wsgi_app(environ, start_response)
        if kind == "status":
            return _status(hit, start_response)
        if kind == "drop":
            if hit.action.get("handle"):
                whole_reply(self.wsgi_app, environ)
            return _broken(start_response, "200 OK", [("Content-Length", "1")], b"", hit)
        status, headers, body = whole_reply(self.wsgi_app, environ)
        if kind == "truncate":
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body) + (0 if body else 1))))
            return _broken(start_response, status, headers, body[: len(body) // 2], hit)
        return _malformed(start_response, headers, body)


def _status(hit: Hit, start_response):
    action = hit.action
    body = action["body"]
    headers = {k: v for k, v in action["headers"].items() if k.lower() != "content-length"}
    if isinstance(body, str) and not any(k.lower() == "content-type" for k in headers):
        payload, content_type = body.encode(), "text/plain; charset=utf-8"
    else:
        payload = body.encode() if isinstance(body, str) else _json_bytes(body)
        content_type = "application/json"
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(payload))
    status = action["status"]
    start_response(f"{status} {_reason(status)}", list(headers.items()))
    return [payload]


def _malformed(start_response, headers: list, body: bytes):
    cut = body[: len(body) // 2] or b"{"
    try:
        json.loads(cut)
    except ValueError:
        pass
    else:
        cut += b"}"  # a prefix that happened to parse (e.g. of a number): break it
    kept = [(k, v) for k, v in headers if k.lower() not in ("content-length", "content-type")]
    kept += [("Content-Type", "application/json"), ("Content-Length", str(len(cut)))]
    start_response("200 OK", kept)
    return [cut]


def _broken(start_response, status: str, headers: list, sent: bytes, hit: Hit):
    start_response(status, headers)

    def reply():
        if sent:
            yield sent
        # give the server time to put the headers (and ``sent``) on the wire first,
        # so the client reliably sees a reply cut short rather than a race
        time.sleep(BREAK_DELAY)
        raise ConnectionDropped(hit.fault_id, hit.action["type"])

    return reply()


def _control_authorised(environ, token: str) -> bool:
    return credentials.authorised(environ.get("HTTP_AUTHORIZATION", ""), token)


def _api_token(environ) -> str | None:
    parts = environ.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) == 2 and parts[0].lower() == "token" and len(parts[1]) <= 200:
        return parts[1]
    return None


class _PrefixedInput(io.RawIOBase):
    """The request body with its first bytes already read (for the journal) put back.

    Reads of the rest stop at the declared length: a server that hands over the raw
    socket (Werkzeug's development server) would otherwise block waiting for bytes the
    client never sends.
    """

    def __init__(self, prefix: bytes, rest, remaining: int) -> None:
        self._prefix = prefix
        self._rest = rest
        self._remaining = remaining

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            size = min(len(buffer), len(self._prefix))
            buffer[:size] = self._prefix[:size]
            self._prefix = self._prefix[size:]
            return size
        if self._remaining <= 0:
            return 0
        data = self._rest.read(min(len(buffer), self._remaining))
        self._remaining -= len(data)
        buffer[: len(data)] = data
        return len(data)


class _Recorder:
    """One API exchange through the journal layer: the request body's start, the reply's
    status, headers and start, then one journal entry."""

    def __init__(self, layer: JournalLayer, environ) -> None:
        self.layer = layer
        self.journal = layer.plane.journal
        self.environ = environ
        self.path = environ.get("PATH_INFO") or "/"
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.token = _api_token(environ)
        self.began = time.perf_counter()
        self.wall_us = wall_us()
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.next_url: str | None = None
        self.body: str | None = None
        self.reply_prefix = b""  # the reply body's first BODY_EXCERPT bytes
        self.reply_total = 0  # bytes of reply body sent
        self._recorded = False

    def run(self, start_response):
        self._capture_body()

        def capture(status, headers, exc_info=None):
            self.status = int(status[:3])
            self.headers = list(headers)
            return start_response(status, headers, exc_info)

        try:
            result = self.layer.wsgi_app(self.environ, capture)
        except BaseException as error:
            outage = outages.classify(error)  # answered 503/507 by the outage layer
            self.status = self.status or (outage.status if outage is not None else 500)
            if outage is not None:
                self.environ[outages.MARK] = outage
            self.record()
            raise
        fault = self.environ.get(FAULT)
        broken = fault is not None and fault.kind in BROKEN
        if _small(self.headers) and not (broken and fault.kind != "malformed"):
            # an ordinary reply: take it whole, journal it now, hand the server a list
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            if not broken:
                self.inspect(body)
            self.sent(body)
            self.record()
            return [body]
        return _Recording(result, self, pages=not broken)

    # -- the journal --------------------------------------------------------------------

    def _capture_body(self) -> None:
        try:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0:
            return
        stream = self.environ["wsgi.input"]
        prefix = b""
        while len(prefix) < min(length, BODY_EXCERPT):
            chunk = stream.read(min(length, BODY_EXCERPT) - len(prefix))
            if not chunk:
                break
            prefix += chunk
        self.environ["wsgi.input"] = io.BufferedReader(
            _PrefixedInput(prefix, stream, length - len(prefix))
        )
        self.body = body_excerpt(prefix, length, self.environ.get("CONTENT_TYPE", ""))

    def inspect(self, first_chunk: bytes) -> None:
        """Note a paginated reply's ``next`` link (the envelope starts every list page)."""
        if self.method != "GET" or self.status != 200 or not first_chunk.startswith(b"{"):
            return
        found = NEXT_LINK.search(first_chunk, 0, 4096)
        if found is not None:
            self.next_url = "" if found.group(1) == b"null" else found.group(2).decode()

    def sent(self, chunk: bytes) -> None:
        """Count a piece of the reply body, keeping its start (up to the excerpt's size)."""
        if len(self.reply_prefix) < BODY_EXCERPT:
            self.reply_prefix += chunk[: BODY_EXCERPT - len(self.reply_prefix)]
        self.reply_total += len(chunk)

    def record(self) -> None:
        if self._recorded:
            return
        self._recorded = True
        fault = self.environ.get(FAULT)
        retry_after = None
        for name, value in self.headers:
            if name.lower() == "retry-after":
                try:
                    retry_after = float(value)
                except ValueError:
                    retry_after = None
        self.journal.record(
            Entry(
                method=self.method,
                path=self.path,
                query=self.environ.get("QUERY_STRING", ""),
                # a dropped connection: no status reached the client
                status=0 if fault is not None and fault.kind == "drop" else self.status,
                duration_ms=(time.perf_counter() - self.began) * 1000,
                token=self.token,
                body=self.body,
                fault_id=fault.fault_id if fault is not None else None,
                wall_us=self.wall_us,
                retry_after=retry_after,
                next_url=self.next_url,
                headers=_request_headers(self.environ),
                reply_headers=list(self.headers),
                reply_prefix=self.reply_prefix,
                reply_total=self.reply_total,
            ),
            later=outages.MARK in self.environ,  # the database is unreachable: no waiting
        )


class _Recording:
    """The app's reply iterable, journaled once the server has sent it (or the connection
    broke)."""

    def __init__(self, result, recorder: _Recorder, pages: bool = True) -> None:
        self.result = result
        self.recorder = recorder
        self.pages = pages  # whether the first chunk may start a page (``next`` link)

    def __iter__(self):
        first = True
        try:
            for chunk in self.result:
                if first:
                    first = False
                    if chunk and self.pages:
                        self.recorder.inspect(chunk)
                self.recorder.sent(chunk)
                yield chunk
        finally:
            self.recorder.record()  # sent in full or broken (some callers never call close)

    def close(self) -> None:
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            self.recorder.record()


def _request_headers(environ) -> list[tuple[str, str]]:
    """The request's headers as the client sent them (names in their usual spelling)."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").title(), value))
    return headers


def _small(headers: list[tuple[str, str]]) -> bool:
    for name, value in headers:
        if name.lower() == "content-length":
            return value.isascii() and value.isdigit() and int(value) <= SMALL_REPLY
    return False


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False).encode()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Injected"
