"""Cross-origin policy of the vendor APIs, applied by flask-cors.

The VisionAlert document says that "the CORS policy of this endpoint [create-log] allows
requests from all origins"; it says nothing about any other endpoint. So create-log
(with and without its trailing slash) answers browsers from any origin, and nothing else
does: not the read APIs, not ParkPow, not the control plane (whose token a page of
another origin must never be able to use).

flask-cors answers the preflight and adds the headers to every reply Flask makes, errors
included. Replies an injected fault makes are written by the control middleware, outside
Flask; ``FaultReplyHeaders`` gives them the same headers, computed by flask-cors from the
same options, so a page reads a forced 429's ``Retry-After`` as it reads a real one.
"""

from __future__ import annotations

import re

from flask import Flask
from flask_cors import CORS
from flask_cors.core import get_cors_headers, get_cors_options
from werkzeug.datastructures import EnvironHeaders

#: the paths the policy covers, with their flask-cors options
CREATE_LOG = r"/v1/vision-alert/create-log/?"
POLICY = {
    CREATE_LOG: {
        "origins": "*",
        "send_wildcard": True,  # "allows requests from all origins": Allow-Origin is "*"
        "always_send": False,  # like django-cors-headers: only requests with an Origin
        "methods": ["POST", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type"],
        "expose_headers": ["Retry-After"],
        "max_age": 600,
        "supports_credentials": False,
        "vary_header": True,
    }
}


def install(app: Flask) -> None:
    """flask-cors on the app, for the paths of ``POLICY`` only."""
    CORS(app, resources=POLICY)


class FaultReplyHeaders:
    """WSGI layer: a cross-origin reply on a covered path that reached the client without
    Flask (an injected fault) gets the headers flask-cors gives Flask's own replies."""

    def __init__(self, wsgi_app, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.resources = [
            (re.compile(rf"\A{pattern}\Z"), get_cors_options(app, options))
            for pattern, options in POLICY.items()
        ]

    def __call__(self, environ, start_response):
        if not environ.get("HTTP_ORIGIN"):
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
