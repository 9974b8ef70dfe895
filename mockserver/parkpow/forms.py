"""Validation of create-camera and create-vehicle input, with DRF's field-error texts.

Both endpoints are upserts, so each form keeps apart the fields the client sent (they
change the stored object) from the ones it left out (they keep their stored values).
Every invalid field is reported at once, as a DRF serializer does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..core.bodies import RequestBody
from ..core.errors import BLANK, NULL_CHARACTER, REQUIRED, FieldErrors
from ..core.numbers import is_number

CAMERA_TYPES = ("ENTRANCE", "EXIT", "SPOT")
CODE_MAX = 255
NAME_MAX = 255
NOTES_MAX = 10_000
PLATE_MAX = 64
CUSTOM_MAX = 1_000
VEHICLE_FIELDS = ("payment_status", *(f"field{i}" for i in range(1, 7)))

NOT_NULL = "This field may not be null."
NOT_STRING = "Not a valid string."
NOT_NUMBER = "A valid number is required."


class Invalid(ValueError):
    """One field's message."""


@dataclass(frozen=True)
class CameraInput:
    code: str
    name: str
    #: stored columns the client sent (type, notes, longitude, latitude)
    changes: dict[str, object] = field(default_factory=dict)
    #: the reply keys for the optional fields sent, in the client's spelling ("Notes")
    echo_keys: tuple[str, ...] = ()
    parking: str | None = None


@dataclass(frozen=True)
class VehicleInput:
    license_plate: str
    changes: dict[str, str | None] = field(default_factory=dict)


def text_value(value: object, max_length: int, *, allow_blank: bool = False) -> str:
    """DRF ``CharField``: strings and numbers (as text); trimmed; length-checked."""
    if value is None:
        raise Invalid(NOT_NULL)
    if not (isinstance(value, str) or is_number(value)):
        raise Invalid(NOT_STRING)
    text = str(value).strip()
    if "\x00" in text:  # DRF's ProhibitNullCharactersValidator, on every CharField
        raise Invalid(NULL_CHARACTER)
    if not text and not allow_blank:
        raise Invalid(BLANK)
    if len(text) > max_length:
        raise Invalid(f"Ensure this field has no more than {max_length} characters.")
    return text


def float_value(value: object, low: float, high: float) -> float | None:
    """DRF ``FloatField`` (null and blank allowed: no coordinates)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise Invalid(NOT_NUMBER)
    try:
        number = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Invalid(NOT_NUMBER) from None
    if not math.isfinite(number):
        raise Invalid(NOT_NUMBER)
    if number < low:
        raise Invalid(f"Ensure this value is greater than or equal to {low:g}.")
    if number > high:
        raise Invalid(f"Ensure this value is less than or equal to {high:g}.")
    return number


def camera_type(value: object) -> str:
    """ENTRANCE, EXIT or SPOT; any letter case, and the display labels, are accepted."""
    if isinstance(value, str) and value.strip().upper() in CAMERA_TYPES:
        return value.strip().upper()
    shown = value if isinstance(value, str) else str(value)
    raise Invalid(f'"{shown}" is not a valid choice.')


def _notes(value: object) -> str | None:
    return None if value is None else text_value(value, NOTES_MAX, allow_blank=True)


def camera_input(body: RequestBody) -> CameraInput:
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}

    def check(name: str, parse, *, required: bool = False, source: str | None = None):
        key = source or name
        if key not in body.fields:
            if required:
                errors[name] = [REQUIRED]
            return
        try:
            values[name] = parse(body.fields[key])
        except Invalid as exc:
            errors[key] = [str(exc)]

    check("code", lambda v: text_value(v, CODE_MAX), required=True)
    check("name", lambda v: text_value(v, NAME_MAX), required=True)
    check("type", camera_type)
    notes_key = "notes" if "notes" in body.fields else "Notes" if "Notes" in body.fields else None
    for key in ("Notes", "notes"):  # both spellings checked; ``notes`` wins when both come
        if key in body.fields:
            check("notes", _notes, source=key)
    check("longitude", lambda v: float_value(v, -180.0, 180.0))
    check("latitude", lambda v: float_value(v, -90.0, 90.0))
    check("parking", lambda v: text_value(v, NAME_MAX))
    if errors:
        raise FieldErrors(errors)
    changes = {k: values[k] for k in ("type", "notes", "longitude", "latitude") if k in values}
    echo = tuple(
        key
        for key, column in ((notes_key, "notes"), ("longitude",) * 2, ("latitude",) * 2)
        if key and column in values
    )
    return CameraInput(
        code=values["code"],  # type: ignore[arg-type]
        name=values["name"],  # type: ignore[arg-type]
        changes=changes,
        echo_keys=echo,
        parking=values.get("parking"),  # type: ignore[arg-type]
    )


def vehicle_input(body: RequestBody) -> VehicleInput:
    errors: dict[str, list[str]] = {}
    plate = None
    if "license_plate" not in body.fields:
        errors["license_plate"] = [REQUIRED]
    else:
        try:
            plate = normalise_plate(body.fields["license_plate"])
        except Invalid as exc:
            errors["license_plate"] = [str(exc)]
    changes: dict[str, str | None] = {}
    for name in VEHICLE_FIELDS:
        if name not in body.fields:
            continue
        value = body.fields[name]
        try:
            changes[name] = (
                None if value is None else text_value(value, CUSTOM_MAX, allow_blank=True)
            )
        except Invalid as exc:
            errors[name] = [str(exc)]
    if errors:
        raise FieldErrors(errors)
    return VehicleInput(license_plate=plate, changes=changes)  # type: ignore[arg-type]


def normalise_plate(value: object) -> str:
    """Plates are compared and stored upper-case, without surrounding space."""
    return text_value(value, PLATE_MAX).upper()
