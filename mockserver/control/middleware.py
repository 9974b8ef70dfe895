"""WSGI middleware of the control plane: fault injection and the request journal.

It sits outside Flask so it sees every request exactly as the client sent it and every
reply exactly as it leaves (status, headers, body), and so an injected fault can do what
a view cannot: delay before handling, answer instead of the app, or break the
connection. Control-plane paths (``/_mock/``) are never faulted nor journaled; the
control token, when configured, is checked here for all of them.

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

from ..core.clock import wall_us
from ..core.faults import Fault, Hit, active_faults, claim
from . import credentials, origin_guard
from .journal import BODY_EXCERPT, Entry, Journal, body_excerpt
from .sharedmem import SharedState, open_shared
from .sharedstore import DatabaseSharedState

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
        self._token: int | None = None
        self._faults: list[Fault] = []

    def current(self) -> list[Fault]:
        if self.shared is None:
            return self.store.query(active_faults)
        token = self.shared.faults_token()  # read before the table: a change after it re-reads
        if token != self._token:
            self._faults = self.store.query(active_faults)
            self._token = token
        return self._faults

    def pick(self, method: str, path: str, token: str | None) -> Hit | None:
        for fault in self.current():
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
        if emulator.store.dialect == "sqlite":
            self.shared = open_shared(config.data_dir)
        else:  # hosts share the database, not a machine
            self.shared = DatabaseSharedState(emulator.store)
        self.journal = Journal(
            emulator.journal_store,
            emulator.clock,
            config.journal_size,
            self.shared,
            secret=config.control_token or None,
        )
        self.faults = FaultBook(emulator.store, self.shared)

    def close(self) -> None:
        self.journal.close()


class ControlMiddleware:
    def __init__(self, wsgi_app, emulator) -> None:
        self.wsgi_app = wsgi_app
        self.emulator = emulator
        self.plane = ControlPlane(emulator)
        emulator.control_plane = self.plane
        emulator.background.append(self.plane)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        if path.startswith("/_mock"):
            return self._control(environ, start_response, path)
        return _Exchange(self, environ, path).run(start_response)

    # -- the control plane --------------------------------------------------------------

    def _control(self, environ, start_response, path: str):
        config = self.emulator.config
        if not config.control_enabled:
            return self.wsgi_app(environ, start_response)
        if config.control_token and not _control_authorised(environ, config.control_token):
            body = b'{"detail": "Control-plane token required."}'
            start_response(
                "401 Unauthorized",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("WWW-Authenticate", credentials.challenge(path)),
                ],
            )
            return [body]
        if (refused := origin_guard.refusal(environ, config.public_base_url)) is not None:
            return origin_guard.respond(start_response, *refused)  # cross-site (CSRF)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method != "GET" and path.rstrip("/") in SYNC_BEFORE:
            self.plane.journal.sync()  # entries before a reset or clock change stay correct
        result = self.wsgi_app(environ, start_response)
        if method not in ("GET", "HEAD", "OPTIONS"):
            # a reset empties the fault table, a fault call changes it: re-read everywhere
            self.plane.faults.changed()
        return result


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


class _Exchange:
    """One request through the middleware: fault, app, journal entry."""

    def __init__(self, middleware: ControlMiddleware, environ, path: str) -> None:
        self.middleware = middleware
        self.plane = middleware.plane
        self.environ = environ
        self.path = path
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.token = _api_token(environ)
        self.began = time.perf_counter()
        self.wall_us = wall_us()
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.next_url: str | None = None
        self.fault_id: int | None = None
        self.body: str | None = None
        self.reply_prefix = b""  # the reply body's first BODY_EXCERPT bytes
        self.reply_total = 0  # bytes of reply body sent
        self._recorded = False

    def run(self, start_response):
        journal = self.plane.journal
        if journal.enabled:
            self._capture_body()
        # a browser's CORS preflight is not the client's request: never faulted
        preflight = (
            self.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in self.environ
        )
        hit = None if preflight else self.plane.faults.pick(self.method, self.path, self.token)
        if hit is None:
            return self._pass(start_response)
        self.fault_id = hit.fault_id
        kind = hit.action["type"]
        if kind == "latency":
            low, high = hit.action["ms"]
            time.sleep((low if low == high else hit.rng.uniform(low, high)) / 1000)
            return self._pass(start_response)
        if kind == "status":
            return self._status(hit, start_response)
        if kind == "drop":
            if hit.action.get("handle"):
                self._handled_body()
            self.status = 0
            return self._broken(start_response, "200 OK", [("Content-Length", "1")], b"", hit)
        status, headers, body = self._handled_body()
        if kind == "truncate":
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body) + (0 if body else 1))))
            return self._broken(start_response, status, headers, body[: len(body) // 2], hit)
        return self._malformed(start_response, headers, body)

    # -- the normal path ----------------------------------------------------------------

    def _pass(self, start_response):
        def capture(status, headers, exc_info=None):
            self.status = int(status[:3])
            self.headers = headers
            return start_response(status, headers, exc_info)

        try:
            result = self.middleware.wsgi_app(self.environ, capture)
        except BaseException:
            self.status = self.status or 500
            self.record()
            raise
        if not self.plane.journal.enabled:
            return result
        if _small(self.headers):
            # an ordinary reply: take it whole, journal it now, hand the server a list
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
            self.inspect(body)
            self.sent(body)
            self.record()
            return [body]
        return _Recording(result, self)

    def _handled_body(self) -> tuple[str, list, bytes]:
        """Run the app to completion (its side effects happen), keeping its reply."""
        reply: dict = {}

        def capture(status, headers, exc_info=None):
            reply["status"], reply["headers"] = status, list(headers)
            return lambda data: None

        result = self.middleware.wsgi_app(self.environ, capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        self.status = int(reply["status"][:3])
        self.headers = reply["headers"]
        return reply["status"], reply["headers"], body

    # -- injected replies ---------------------------------------------------------------

    def _status(self, hit: Hit, start_response):
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
        self.status = action["status"]
        self.headers = list(headers.items())
        start_response(f"{self.status} {_reason(self.status)}", self.headers)
        self.inspect(payload)
        self.sent(payload)
        self.record()
        return [payload]

    def _malformed(self, start_response, headers: list, body: bytes):
        cut = body[: len(body) // 2] or b"{"
        try:
            json.loads(cut)
        except ValueError:
            pass
        else:
            cut += b"}"  # a prefix that happened to parse (e.g. of a number): break it
        kept = [(k, v) for k, v in headers if k.lower() not in ("content-length", "content-type")]
        kept += [("Content-Type", "application/json"), ("Content-Length", str(len(cut)))]
        self.status = 200
        self.headers = kept
        start_response("200 OK", kept)
        self.sent(cut)
        self.record()
        return [cut]

    def _broken(self, start_response, status: str, headers: list, sent: bytes, hit: Hit):
        start_response(status, headers)
        self.headers = headers
        self.sent(sent)
        self.record()

        def reply():
            if sent:
                yield sent
            # give the server time to put the headers (and ``sent``) on the wire first,
            # so the client reliably sees a reply cut short rather than a race
            time.sleep(BREAK_DELAY)
            raise ConnectionDropped(hit.fault_id, hit.action["type"])

        return reply()

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
        journal = self.plane.journal
        if not journal.enabled:
            return
        retry_after = None
        for name, value in self.headers:
            if name.lower() == "retry-after":
                try:
                    retry_after = float(value)
                except ValueError:
                    retry_after = None
        journal.record(
            Entry(
                method=self.method,
                path=self.path,
                query=self.environ.get("QUERY_STRING", ""),
                status=self.status,
                duration_ms=(time.perf_counter() - self.began) * 1000,
                token=self.token,
                body=self.body,
                fault_id=self.fault_id,
                wall_us=self.wall_us,
                retry_after=retry_after,
                next_url=self.next_url,
                headers=_request_headers(self.environ),
                reply_headers=list(self.headers),
                reply_prefix=self.reply_prefix,
                reply_total=self.reply_total,
            )
        )


class _Recording:
    """The app's reply iterable, journaled once the server has sent it."""

    def __init__(self, result, exchange: _Exchange) -> None:
        self.result = result
        self.exchange = exchange

    def __iter__(self):
        first = True
        for chunk in self.result:
            if first:
                first = False
                if chunk:
                    self.exchange.inspect(chunk)
            self.exchange.sent(chunk)
            yield chunk
        self.exchange.record()  # sent in full (some callers never call close)

    def close(self) -> None:
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            self.exchange.record()


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
