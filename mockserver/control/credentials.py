"""The control token, as a request may present it.

API clients send ``Authorization: Bearer TOKEN``. A browser cannot add a header to a
page it navigates to, so the dashboard (``/_mock/ui``) and the docs page also take HTTP
Basic credentials whose password is the token (any user name): the browser asks for it
once and sends it with every later request under ``/_mock/`` — the same protection,
no cookie, no login form. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hmac

#: the challenge of the browser pages; the JSON API keeps announcing ``Bearer``
BASIC_CHALLENGE = 'Basic realm="mockserver control plane", charset="UTF-8"'
BROWSER_PAGES = ("/_mock/ui", "/_mock/docs")


def presented_token(header: str) -> str | None:
    """The control token in an ``Authorization`` header (Bearer, or Basic's password)."""
    scheme, _, given = header.partition(" ")
    scheme, given = scheme.lower(), given.strip()
    if scheme == "bearer":
        return given
    if scheme == "basic":
        try:
            decoded = base64.b64decode(given, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, colon, password = decoded.partition(":")
        return password if colon else None
    return None


def authorised(header: str, token: str) -> bool:
    given = presented_token(header)
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def challenge(path: str) -> str:
    """What a 401 announces: Basic on the browser pages (the browser asks), else Bearer."""
    return BASIC_CHALLENGE if path.startswith(BROWSER_PAGES) else "Bearer"
