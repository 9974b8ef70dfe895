"""Secrets as the emulator shows them: masked, never whole.

The dashboard shows tokens this way, and the request journal stores everything it keeps
of an exchange this way: ``Authorization`` (the scheme kept, the credentials masked),
``Cookie`` and ``Set-Cookie``, any header carrying a known secret (the request's API
token, the control token), query parameters and body fields whose name says they hold a
credential (``token``, ``password``, ``api_key``, ...), and any other place a known secret
appears. A stored journal entry therefore never holds a full secret, whoever later reads it.

The journal's token filter still finds a client's entries: beside the masked token each
entry keeps the token's keyed hash (HMAC-SHA256 under a random key kept in the world's
store), which a filter value is hashed with too.
"""

from __future__ import annotations

import hashlib
import hmac
import re

#: headers whose whole value (after an ``Authorization`` scheme) is a secret
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
#: headers whose value starts with a scheme word that is no secret
SCHEMED = frozenset({"authorization", "proxy-authorization"})
#: a field or parameter name that says its value is a credential
_SECRET_NAME = (
    r"[^\"=&\\]*?(?:token|secret|passw|pwd|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credential|auth|signature|session|cookie)[^\"=&\\]*"
)
#: ``"name": "value"`` in JSON text (also in an excerpt cut short)
_JSON_FIELD = re.compile(rf'("{_SECRET_NAME}"\s*:\s*")((?:[^"\\]|\\.)*)', re.IGNORECASE)
#: ``name=value`` in a query string or a form body
_FORM_FIELD = re.compile(rf"((?:^|[&?;]){_SECRET_NAME}=)([^&;\s]*)", re.IGNORECASE)


def mask(token: str | None) -> str:
    """A token as the dashboard shows it: enough to tell two apart, not enough to use."""
    if not token:
        return "—"
    if len(token) <= 6:
        return token[:1] + "•••"
    return f"{token[:4]}•••{token[-2:]}"


def masked_value(name: str, value: str, secret: str | None) -> str:
    """One header's value as the journal keeps it."""
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        if lowered in SCHEMED:
            scheme, space, credentials = value.strip().partition(" ")
            if space:
                return f"{scheme} {mask(credentials.strip())}"
        return mask(value)
    if secret and secret in value:
        return value.replace(secret, mask(secret))
    return value


def masked_headers(headers: list[tuple[str, str]], secret: str | None) -> list[list[str]]:
    return [[name, masked_value(name, value, secret)] for name, value in headers]


def masked_text(text: str | None, known: tuple[str | None, ...] = ()) -> str | None:
    """A query string or a body excerpt with every credential-looking field's value and
    every known secret masked."""
    if not text:
        return text
    for secret in known:
        if secret and len(secret) > 2 and secret in text:
            text = text.replace(secret, mask(secret))
    text = _JSON_FIELD.sub(lambda found: found.group(1) + _masked(found.group(2)), text)
    return _FORM_FIELD.sub(lambda found: found.group(1) + _masked(found.group(2)), text)


def _masked(value: str) -> str:
    return value if not value or "•••" in value else mask(value)


def token_key(key: bytes, token: str | None) -> str | None:
    """The keyed hash the journal files a token under (the filter's side of ``mask``)."""
    if not token:
        return None
    return hmac.new(key, token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:40]
