"""Reading request bodies once, at the edge, whatever encoding the client chose.

Real clients send JSON with curl ``-d`` (a form content type), multipart with files, or
plain forms. ``RequestBody`` gives one view of all of them: fields (strings or JSON
values) and files (bytes), so handlers never branch on the encoding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from flask import Request

from .errors import ApiError


@dataclass
class RequestBody:
    fields: dict[str, object] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    is_json: bool = False

    def get(self, name: str, default=None):
        return self.fields.get(name, default)

    def text(self, name: str) -> str | None:
        value = self.fields.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)


def read_body(request: Request) -> RequestBody:
    """Parse the body: JSON when it parses as JSON (any content type), else form/multipart."""
    content_type = (request.mimetype or "").lower()
    if content_type.startswith("multipart/"):
        return _form(request)
    raw = request.get_data(cache=True)
    declared_json = content_type == "application/json"
    if raw.strip()[:1] in (b"{", b"[") or (declared_json and raw.strip()):
        try:
            value = json.loads(raw.decode("utf-8"))  # as DRF's JSONParser: UTF-8 only
        except (ValueError, UnicodeDecodeError, RecursionError):  # nesting too deep: bad input
            if declared_json:
                raise ApiError({"detail": "JSON parse error - invalid JSON body."}, 400) from None
        else:
            if not isinstance(value, dict):
                kind = type(value).__name__  # DRF's wording: "... but got list." / "str."
                raise ApiError(
                    {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]},
                    400,
                )
            return RequestBody(fields=value, is_json=True)
    return _form(request)


def _form(request: Request) -> RequestBody:
    body = RequestBody()
    try:
        for name in request.form:
            body.fields[name] = request.form.get(name)
        for name, storage in request.files.items():
            body.files[name] = storage.read()
    except UnicodeDecodeError:
        raise ApiError({"detail": "Malformed request body."}, 400) from None
    return body


def read_json_object(request: Request) -> dict:
    """A control-plane body: a JSON object declared as JSON (or nothing, read as empty).

    Unlike the vendors' endpoints, the control plane does not guess: a ``text/plain`` or
    form body that happens to parse as JSON is what a foreign page can post without a
    CORS preflight, so it is refused (415).
    """
    declared = (request.mimetype or "").lower()
    if request.get_data() and not (declared == "application/json" or declared.endswith("+json")):
        raise ApiError({"detail": f'Unsupported media type "{declared}" in request.'}, 415)
    body = read_body(request)
    if not body.is_json and request.get_data():
        raise ApiError({"detail": "Expected a JSON object."}, 400)
    return body.fields
