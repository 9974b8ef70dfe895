"""Cross-site requests to the control plane are refused (CSRF).

A browser holding the control token as cached HTTP Basic credentials sends them with any
request to ``/_mock/``, whichever page made it, so the token alone does not tell the
emulator's own dashboard from a foreign page. The rule, checked for every ``/_mock/``
request before it reaches a route:

* a request whose ``Origin`` is not the emulator's own (the ``Host`` it was asked for, a
  forwarded host, or the configured public base URL) is refused, 403;
* a state-changing request (not GET/HEAD/OPTIONS) from a browser context other than the
  same origin (``Sec-Fetch-Site``) is refused, 403;
* a state-changing request that carries a body must declare it JSON (``application/json``
  or ``+json``): the encodings a page can send cross-site without a CORS preflight (forms,
  ``text/plain``) are refused, 415. Exceptions: the control token sent as a header no
  page can make a browser add (``Bearer``), and the dashboard's own HTML forms under
  ``/_mock/ui/``, which must name this origin in ``Origin`` or ``Referer`` (else 403).

Requests without ``Origin`` and without a body type (curl, SDKs, ``POST /_mock/reset``
with nothing in it) pass: a page cannot send a POST without ``Origin`` in any browser
that runs scripts, and a form always declares its encoding.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DASHBOARD = "/_mock/ui/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CROSS_SITE = "Cross-site requests to the control plane are not accepted."
NOT_JSON = (
    "Control-plane calls that change state take a JSON body (Content-Type: "
    "application/json), or the control token as a Bearer header."
)


def refusal(environ: dict, public_base_url: str = "") -> tuple[int, str] | None:
    """``(status, detail)`` when this ``/_mock/`` request must be refused, else ``None``."""
    own = _own_hosts(environ, public_base_url)
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and _host_of(origin) not in own:
        return 403, CROSS_SITE
    if environ.get("REQUEST_METHOD", "GET").upper() in SAFE_METHODS:
        return None
    if environ.get("HTTP_SEC_FETCH_SITE", "same-origin") not in ("same-origin", "none"):
        return 403, CROSS_SITE
    if environ.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0].lower() == "bearer":
        return None  # the token check that follows decides whether it is the right one
    media_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return None
    path = environ.get("PATH_INFO") or "/"
    if path.startswith(DASHBOARD) and media_type in FORM_TYPES + ("",):
        source = origin or environ.get("HTTP_REFERER") or ""
        return None if source and _host_of(source) in own else (403, CROSS_SITE)
    if not media_type and _empty_body(environ):
        return None
    return 415, NOT_JSON


def _own_hosts(environ: dict, public_base_url: str) -> set[str]:
    scheme = environ.get("wsgi.url_scheme", "http")
    hosts = {_normal(environ.get("HTTP_HOST", ""), scheme)}
    forwarded = environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[0].strip()
    if forwarded:
        hosts.add(_normal(forwarded, scheme))
    if public_base_url:
        hosts.add(_host_of(public_base_url))
    hosts.discard("")
    return hosts


def _host_of(url: str) -> str:
    """``host[:port]`` of a URL, lower case, without the scheme's default port."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "\x00unparsable"
    if not parts.netloc or parts.scheme not in ("http", "https"):
        return "\x00opaque"  # "null", file:, data: ... never this server
    return _normal(parts.netloc, parts.scheme)


def _normal(netloc: str, scheme: str) -> str:
    netloc = netloc.strip().lower().rsplit("@", 1)[-1]
    default = ":443" if scheme == "https" else ":80"
    return netloc[: -len(default)] if netloc.endswith(default) else netloc


def _empty_body(environ: dict) -> bool:
    length = environ.get("CONTENT_LENGTH", "").strip()
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return not chunked and length in ("", "0")


def respond(start_response, status: int, detail: str) -> list[bytes]:
    """The refusal as the JSON error every other control call gives."""
    body = json.dumps({"detail": detail}).encode()
    reason = {403: "Forbidden", 415: "Unsupported Media Type"}[status]
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(f"{status} {reason}", headers)
    return [body]
