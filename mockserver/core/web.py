"""The HTTP edge shared by every blueprint: JSON errors, the clock reading, helpers."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, current_app, g, has_request_context, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import IntegerConverter

from . import outages
from .auth import authenticate, require_product
from .errors import ApiError
from .numbers import MAX_ID
from .readcache import cached_value

log = logging.getLogger(__name__)

#: DRF's texts for the errors the framework itself raises
HTTP_TEXTS = {
    400: "Bad request.",
    404: "Not found.",
    413: "Request body is larger than the upload limit.",
    415: "Unsupported media type in request.",
}


class StoreInteger(IntegerConverter):
    """``<int:...>`` path parts that fit a store id (``numbers.MAX_ID``); a larger
    number matches no route (404) instead of overflowing the query."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class ExactBodyLimit:
    """A body of exactly the upload limit is accepted, whatever the WSGI server.

    Servers that set ``wsgi.input_terminated`` (granian does) make Werkzeug read through a
    "max" stream that refuses a body which reaches the limit exactly. When the client sent
    a ``Content-Length`` Werkzeug checks that length against the limit instead (413 only
    above it), so the flag is dropped for such requests; chunked bodies keep it.
    """

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH", "").strip()
        if length.isascii() and length.isdigit():
            environ.pop("wsgi.input_terminated", None)
        return self.wsgi_app(environ, start_response)


#: the clock, store and configuration versions an outer layer read for this request
#: (``DueWork.observe``), handed on so that the request reads them once
OBSERVED = "mockserver.observed"


def current_emulator():
    """The emulator of the app serving this request (routes fetch it once, pass it on)."""
    return current_app.extensions["mockserver"]


def json_response(body: object, status: int = 200, headers: dict | None = None) -> Response:
    payload = json.dumps(body, separators=(", ", ": "), ensure_ascii=False)
    response = Response(payload, status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install_edges(app: Flask) -> None:
    """Paths with and without trailing slash, JSON for every error, one clock reading."""
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    app.url_map.converters["int"] = StoreInteger

    def _forget_version() -> None:
        # this request wrote: what it reads from now on is newer than its start version
        if has_request_context():
            g.store_version = g.config_version = None

    app.extensions["mockserver"].store.write_listeners.append(_forget_version)

    @app.before_request
    def _observe() -> None:
        # One reading of the clock per request; no due work here (``DueWork.observe``).
        if not request.path.startswith("/_mock/health"):
            observed = request.environ.get(OBSERVED)  # an outer layer's
            observed = observed or current_emulator().duework.observe()
            state, g.store_version, g.config_version = observed
            g.now_us = state.now_us

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return json_response(error.body, error.status, error.headers)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        if isinstance(error, MethodNotAllowed):
            body = {"detail": f'Method "{request.method}" not allowed.'}
            headers = {"Allow": ", ".join(sorted(error.valid_methods or []))}
            return json_response(body, 405, headers)
        return json_response({"detail": HTTP_TEXTS.get(status, error.name)}, status)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        outage = outages.classify(error)  # the database or the disk: 503/507, never 500
        if outage is not None:
            outages.note(outage, error, f"{request.method} {request.path}")
            request.environ[outages.MARK] = outage
            retry_after = current_emulator().config.retry_after
            return json_response(
                {"detail": outage.detail}, outage.status, outages.headers(retry_after)
            )
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response({"detail": "A server error occurred."}, 500)


def now_us() -> int:
    """The emulator's now, read once per request so one reply sees one instant."""
    if "now_us" not in g:
        g.now_us = current_emulator().now_us()
    return g.now_us


def current_account(product: str | None = None, product_message: str | None = None):
    """Authenticate the request's token (once per request); optionally require a product."""
    if "account" not in g:
        emulator = current_emulator()
        header = request.headers.get("Authorization")
        g.account = cached_value(
            ("account", header),
            lambda: emulator.store.query(lambda conn: authenticate(conn, header)),
            configuration=True,
        )
    if product is not None:
        require_product(g.account, product, product_message)
    return g.account


def whole_reply(wsgi_app, environ: dict) -> tuple[str, list, bytes]:
    """Run a WSGI app to completion on ``environ`` (its side effects happen) and return its
    status line, headers and whole body, for a layer that must see the reply before
    sending it (an injected fault, a mutant)."""
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, list(headers)
        return lambda data: None

    result = wsgi_app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return captured["status"], captured["headers"], body
