"""Secrets as the emulator shows them: masked, never whole.

The dashboard shows tokens this way, and the request journal stores request and reply
headers this way: ``Authorization`` (the scheme kept, the credentials masked), ``Cookie``
and ``Set-Cookie``, and any header carrying the control token. A stored journal entry
therefore never holds a full secret, whoever later reads it.
"""

from __future__ import annotations

#: headers whose whole value (after an ``Authorization`` scheme) is a secret
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
#: headers whose value starts with a scheme word that is no secret
SCHEMED = frozenset({"authorization", "proxy-authorization"})


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
