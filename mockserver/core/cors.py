"""Cross-origin policies of the vendor APIs, applied by flask-cors.

Each vendor's descriptor says which of its paths answer browsers of other origins, and
how (``Vendor.cors``: a path pattern and its flask-cors options); a path no vendor lists
has no policy and sends no CORS headers (nor does the control plane, whose token a page of
another origin must never be able to use). The server assembly installs the union.

flask-cors answers the preflight and adds the headers to every reply Flask makes, errors
included. Replies an injected fault makes are written by the control middleware, outside
Flask; ``FaultReplyHeaders`` gives them the same headers, computed by flask-cors from the
same options, so a page reads a forced 429's ``Retry-After`` as it reads a real one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from flask_cors import CORS
from flask_cors.core import get_cors_headers, get_cors_options
from werkzeug.datastructures import EnvironHeaders

#: path pattern (a regular expression matched against the whole path) -> flask-cors options
Policy = Mapping[str, Mapping[str, Any]]


def install(app: Flask, policy: Policy) -> None:
    """flask-cors on the app, for the paths of ``policy`` only (none: no CORS at all).

    flask-cors answers a preflight with only the requested headers that are allowed; the
    vendors' Django services (django-cors-headers) list every allowed header whatever was
    asked, so a page learns the whole policy from any preflight. The preflight's
    ``Access-Control-Allow-Headers`` is widened to the policy's full list here.
    """
    if not policy:
        return
    allowed = [
        (re.compile(rf"\A{pattern}\Z"), ", ".join(options.get("allow_headers", ())))
        for pattern, options in policy.items()
    ]

    @app.after_request
    def list_every_allowed_header(response):
        if request.method == "OPTIONS" and "Access-Control-Allow-Headers" in response.headers:
            full = next((names for regex, names in allowed if regex.match(request.path)), "")
            if full:
                response.headers["Access-Control-Allow-Headers"] = full
        return response

    # registered after the hook above, so it runs before it (Flask runs them in reverse)
    CORS(app, resources={pattern: dict(options) for pattern, options in policy.items()})


class FaultReplyHeaders:
    """WSGI layer: a cross-origin reply on a covered path that reached the client without
    Flask (an injected fault) gets the headers flask-cors gives Flask's own replies."""

    def __init__(self, wsgi_app, app: Flask, policy: Policy) -> None:
        self.wsgi_app = wsgi_app
        self.resources = [
            (re.compile(rf"\A{pattern}\Z"), get_cors_options(app, dict(options)))
            for pattern, options in policy.items()
        ]

    def __call__(self, environ, start_response):
        if not self.resources or not environ.get("HTTP_ORIGIN"):
            return self.wsgi_app(environ, start_response)
        path = environ.get("PATH_INFO") or "/"
        options = next((opts for regex, opts in self.resources if regex.match(path)), None)
        if options is None:
            return self.wsgi_app(environ, start_response)

        def start(status, headers, exc_info=None):
            if not any(name.lower() == "access-control-allow-origin" for name, _ in headers):
                method = environ.get("REQUEST_METHOD", "GET").upper()
                extra = get_cors_headers(options, EnvironHeaders(environ), method)
                headers = [*headers, *((name, str(value)) for name, value in extra.items())]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)
