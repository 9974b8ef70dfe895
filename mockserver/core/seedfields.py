"""Reading a seed document's fields: the shared rules of every vendor's seed reader.

Errors name the field by its path in the document (``accounts[0].parkpow.parkings[1]``).
"""

from __future__ import annotations

from .errors import ApiError, FieldErrors


class SeedConflict(ApiError):
    """A seed names something that already exists (409): seeds never merge."""

    def __init__(self, message: str) -> None:
        super().__init__({"detail": message}, 409)


def section(spec: dict, key: str, where: str) -> dict:
    """An account's section of one vendor (absent: empty)."""
    value = spec.get(key) or {}
    if not isinstance(value, dict):
        raise FieldErrors({f"{where}.{key}": ["Expected an object."]})
    return value


def scalar(value):
    return None if value is None else str(value)


def seed_list(spec: dict, key: str, where: str = "", required: bool = False) -> list:
    value = spec.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        name = f"{where}.{key}" if where else key
        raise FieldErrors({name: ["Expected a list."]})
    return value


def seed_text(spec: dict, key: str, where: str, required: bool = False) -> str | None:
    value = spec.get(key)
    if value is None:
        if required:
            raise FieldErrors({f"{where}.{key}": ["This field is required."]})
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 1000:
        raise FieldErrors({f"{where}.{key}": ["A non-empty string of at most 1000 characters."]})
    return value
