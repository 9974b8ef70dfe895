"""Errors that know their status and body, in the forms DRF and the seeds use."""

from __future__ import annotations

import math


class ApiError(Exception):
    status = 400

    def __init__(self, body: object, status: int | None = None, headers: dict | None = None):
        super().__init__(body)
        self.body = body
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})


class Detail(ApiError):
    """``{"detail": "..."}``: auth, permission, not-found, throttling."""

    def __init__(self, message: str, status: int, headers: dict | None = None):
        super().__init__({"detail": message}, status, headers)


class NotAuthenticated(Detail):
    def __init__(self) -> None:
        super().__init__(
            "Authentication credentials were not provided.", 401, {"WWW-Authenticate": "Token"}
        )


class InvalidToken(Detail):
    def __init__(self) -> None:
        super().__init__("Invalid token.", 401, {"WWW-Authenticate": "Token"})


class PermissionDenied(Detail):
    def __init__(self, message: str = "You do not have permission to perform this action."):
        super().__init__(message, 403)


class NotFound(Detail):
    def __init__(self, message: str = "Not found."):
        super().__init__(message, 404)


class Throttled(Detail):
    """DRF's throttling text: the wait rounded up, singular for one second."""

    def __init__(self, wait_seconds: float):
        wait = max(1, math.ceil(wait_seconds))
        unit = "second" if wait == 1 else "seconds"
        super().__init__(
            f"Request was throttled. Expected available in {wait} {unit}.",
            429,
            {"Retry-After": str(wait)},
        )


class Message(ApiError):
    """create-log's own ``{"message": "..."}`` bodies."""

    def __init__(self, message: str, status: int, headers: dict | None = None):
        super().__init__({"message": message}, status, headers)


class FieldErrors(ApiError):
    """DRF validation errors: ``{"<field>": ["<message>", ...]}``."""

    def __init__(self, errors: dict[str, list[str] | str]):
        body = {k: v if isinstance(v, list) else [v] for k, v in errors.items()}
        super().__init__(body, 400)


def field_error(field: str, message: str) -> FieldErrors:
    return FieldErrors({field: [message]})


REQUIRED = "This field is required."
#: DRF's field texts, shared by every vendor's forms
BLANK = "This field may not be blank."
NULL_CHARACTER = "Null characters are not allowed."
NO_FILE = "No file was submitted."
NOT_A_FILE = "The submitted data was not a file. Check the encoding type on the form."
