"""Secrets never reach a cassette: each token becomes a numbered placeholder, and anything
that looks like a credential becomes ``<redacted>``.

A token is learnt from the ``Authorization`` header it came in (``Token <key>``, ``Bearer
<key>``, ...); from then on it is replaced wherever it appears (a query, a body, a reply,
a header). Values of fields, parameters and headers whose name says they hold a credential
(``token``, ``password``, ``api_key``, ...) and the password of a URL's user part are
redacted even when no header named them. The same placeholder stands for the same token
in the whole cassette, so a replay knows which requests one client sent.
"""

from __future__ import annotations

import re
import threading

PLACEHOLDER = "<token-{}>"
REDACTED = "<redacted>"
PLACEHOLDER_PATTERN = re.compile(r"<token-\d+>")
#: a field, parameter or header name that says its value is a credential
SECRET_NAME = re.compile(
    r"token|secret|passw|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credential"
    r"|authorization|signature|session|cookie",
    re.IGNORECASE,
)
#: ``scheme://user:password@host``
URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@\"']+:)([^\s/@\"']+)(@)")
_FORM_FIELD = re.compile(r"((?:^|[&?;])([^=&;\s]+)=)([^&;\s]*)")


class Redactor:
    """The tokens met so far and their placeholders (shared by the proxy's threads)."""

    def __init__(self, known: dict[str, str] | None = None) -> None:
        self.placeholders: dict[str, str] = dict(known or {})
        self._lock = threading.Lock()

    def learn_header(self, value: str) -> str:
        """An ``Authorization`` value with its credentials replaced by their placeholder."""
        scheme, space, credentials = value.strip().partition(" ")
        if not space:
            return self.learn(scheme)
        return f"{scheme} {self.learn(credentials.strip())}"

    def learn(self, token: str) -> str:
        if not token or PLACEHOLDER_PATTERN.fullmatch(token):
            return token
        with self._lock:
            if token not in self.placeholders:
                self.placeholders[token] = PLACEHOLDER.format(len(self.placeholders) + 1)
            return self.placeholders[token]

    def text(self, text: str) -> str:
        """A query string or a form body: every known token replaced, credential-named
        fields and URL passwords redacted."""
        return _FORM_FIELD.sub(self._form_field, self.known(text))

    def known(self, text: str) -> str:
        """Any text (a JSON string, a header): known tokens and URL passwords redacted."""
        for token, placeholder in sorted(self.placeholders.items(), key=lambda p: -len(p[0])):
            if len(token) > 2:
                text = text.replace(token, placeholder)
        return URL_PASSWORD.sub(lambda found: found.group(1) + REDACTED + found.group(3), text)

    def json(self, value: object, key: str = "") -> object:
        """A JSON value with credential-named fields redacted and known tokens replaced."""
        if isinstance(value, dict):
            return {name: self.json(item, name) for name, item in value.items()}
        if isinstance(value, list):
            return [self.json(item, key) for item in value]
        if isinstance(value, str):
            if key and SECRET_NAME.search(key) and not PLACEHOLDER_PATTERN.fullmatch(value):
                return self._whole(value)
            return self.known(value)
        return value

    def field(self, name: str, value: str) -> str:
        """A form field's value (a multipart part's text)."""
        if SECRET_NAME.search(name) and not PLACEHOLDER_PATTERN.fullmatch(value):
            return self._whole(value)
        return self.known(value)

    def header(self, name: str, value: str) -> str:
        if name.lower() in ("authorization", "proxy-authorization"):
            return self.learn_header(value)
        if SECRET_NAME.search(name):
            return REDACTED
        return self.known(value)

    def secret_bytes(self) -> list[tuple[bytes, bytes]]:
        """Each known token's bytes and its placeholder's (for binary bodies)."""
        return [(t.encode(), p.encode()) for t, p in self.placeholders.items() if len(t) > 2]

    def _whole(self, value: str) -> str:
        known = self.placeholders.get(value)
        return known or (REDACTED if value else value)

    def _form_field(self, found: re.Match) -> str:
        name, value = found.group(2), found.group(3)
        if not value or not SECRET_NAME.search(name) or PLACEHOLDER_PATTERN.fullmatch(value):
            return found.group(0)
        return found.group(1) + self._whole(value)
