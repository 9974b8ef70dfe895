"""The recording proxy: forwards each request to the real service, answers with its reply
unchanged, and writes the exchange to a cassette with every secret redacted.

Each request goes to the upstream that serves its API: the upstream whose host is one of
a vendor's real hosts takes that vendor's paths (``Vendor.hosts``, ``Vendor.url_prefix``);
paths no such upstream claims go to the first upstream given. An exchange's ``time`` is
the wall clock (UTC) when the request was forwarded; against an emulator standing in for
the real service, ``upstream_clock=True`` takes the emulator's own clock instead
(``GET /_mock/clock``), so that a replay sees the instants the recorded replies saw.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ..vendors import VENDORS
from .cassette import (
    KEPT_REPLY_HEADERS,
    KEPT_REQUEST_HEADERS,
    Cassette,
    encode_body,
    kept_headers,
)
from .redaction import Redactor

#: connection-level headers a proxy never passes on (RFC 9110 section 7.6.1), and those
#: that describe the body's transfer, which the proxy makes again
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
    }
)
TIMEOUT = 120.0


def route_table(upstreams: list[str]) -> list[tuple[str, str]]:
    """``(path prefix, upstream)`` for each vendor an upstream's host belongs to."""
    routes = []
    for upstream in upstreams:
        host = urlsplit(upstream).hostname or ""
        for vendor in VENDORS:
            if host in vendor.hosts:
                routes.append((vendor.url_prefix, upstream.rstrip("/")))
    return routes


class RecordingProxy:
    """A WSGI app: forward, answer unchanged, write the exchange down."""

    def __init__(
        self,
        upstreams: list[str],
        cassette: Cassette,
        *,
        upstream_clock: bool = False,
        redactor: Redactor | None = None,
    ) -> None:
        if not upstreams:
            raise ValueError("at least one upstream is needed")
        self.upstreams = [upstream.rstrip("/") for upstream in upstreams]
        self.routes = route_table(self.upstreams)
        self.cassette = cassette.create(self.upstreams)
        self.upstream_clock = upstream_clock
        self.redactor = redactor or Redactor()
        self._local = threading.local()  # a connection pool per request thread
        self._seq = itertools.count(1)
        self._seq_lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # the upstream is reached directly, never via a proxy
        return session

    def upstream_for(self, path: str) -> str:
        for prefix, upstream in self.routes:
            if path.startswith(prefix):
                return upstream
        return self.upstreams[0]

    def __call__(self, environ, start_response):
        request = Request(environ)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        path = urlsplit(raw).path if raw.startswith("/") else quote(request.path)
        upstream = self.upstream_for(path)
        with self._seq_lock:
            seq = next(self._seq)
        instant = self._now(upstream)
        body = request.get_data()
        headers = [(n, v) for n, v in request.headers.items() if n.lower() not in HOP_BY_HOP]
        query = request.query_string.decode("latin-1")
        started = time.perf_counter()
        try:
            reply = self._session().request(
                request.method,
                upstream + path + (f"?{query}" if query else ""),
                headers=dict(headers),
                data=body,
                allow_redirects=False,
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            detail = f"The upstream {upstream} did not answer: {type(error).__name__}."
            answer = Response(json.dumps({"detail": detail}), 502, mimetype="application/json")
            return answer(environ, start_response)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        reply_headers = [(n, v) for n, v in reply.headers.items() if n.lower() not in HOP_BY_HOP]
        self._write(seq, instant, elapsed_ms, request, path, query, headers, body, reply)
        answer = Response(reply.content, reply.status_code, headers=reply_headers)
        if "content-type" not in reply.headers:  # no type the upstream did not give
            del answer.headers["Content-Type"]
        return answer(environ, start_response)

    def _now(self, upstream: str) -> str:
        if self.upstream_clock:
            return self._session().get(upstream + "/_mock/clock", timeout=TIMEOUT).json()["now"]
        return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

    def _write(self, seq, instant, elapsed_ms, request, path, query, headers, body, reply):
        redactor, cassette = self.redactor, self.cassette
        kept_request = kept_headers(headers, KEPT_REQUEST_HEADERS, redactor)  # learns the token
        kept_reply = kept_headers(reply.headers.items(), KEPT_REPLY_HEADERS, redactor)
        exchange = {
            "seq": seq,
            "time": instant,
            "elapsed_ms": elapsed_ms,
            "request": {
                "method": request.method,
                "path": redactor.text(path),
                "query": [list(pair) for pair in parse_qsl(redactor.text(query), True)],
                "headers": kept_request,
                "body": encode_body(
                    body, request.content_type or "", cassette.store_bytes, redactor
                ),
            },
            "response": {
                "status": reply.status_code,
                "headers": kept_reply,
                "body": encode_body(
                    reply.content,
                    reply.headers.get("Content-Type", ""),
                    cassette.store_bytes,
                    redactor,
                ),
            },
        }
        cassette.append(exchange)


class _QuietHandler(WSGIRequestHandler):
    """The cassette is the log: no line per request on the terminal."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class RecordingServer:
    """The proxy on a local port, served by threads (``start`` in the background, or
    ``serve_forever`` in the foreground)."""

    def __init__(self, proxy: RecordingProxy, host: str = "127.0.0.1", port: int = 0) -> None:
        self.proxy = proxy
        self.server = make_server(host, port, proxy, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://{host}:{self.server.server_port}"
        self._thread: threading.Thread | None = None

    def start(self) -> RecordingServer:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
