"""log-vehicle's input, in both encodings real clients use, checked whole before any write.

* multipart: ``image`` file, ``results`` as a JSON string (the seed's own Python example
  lets ``requests`` write each result as a separate form value in Python's repr, so a
  Python literal is read too), ``camera``;
* JSON: ``image`` as base64 (a ``data:`` URL prefix is allowed), ``results`` as a list (or
  a single result object), ``time`` as ``%Y-%m-%d %H:%M:%S.%f%z`` or ISO 8601.

Each result is one sighting of one plate. The plate is the result's ``plate`` string, or in
Plate Recognizer's newer format the first ``plate.props.plate[].value``. The sighting's
prediction keeps the result's ``box``, ``plate``, ``score`` and ``dscore`` as sent; a
result that is only a plate (the seed's own example) carries no prediction.
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from ..core.bodies import RequestBody
from ..core.errors import NO_FILE, REQUIRED, FieldErrors
from ..core.images import ImageInfo, InvalidImage, inspect_image
from ..core.timefmt import to_us
from .forms import CODE_MAX, Invalid, normalise_plate, text_value

MAX_RESULTS = 100
MAX_LITERAL = 1_000_000  # characters of a results value read as a Python literal
BAD_BASE64 = "Invalid image: not a valid base64-encoded file."
BAD_JSON = "Value must be valid JSON."
BAD_RESULT = 'Each result must be an object with a "plate".'
BAD_TIME = "Enter a valid time (%Y-%m-%d %H:%M:%S.%f%z or ISO 8601)."
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sighting:
    plate: str  # normalised: what visits are keyed by
    #: box, plate, score, dscore as the client sent them; None for a bare plate (no
    #: detection data: nothing was predicted)
    prediction: dict | None
    #: the whole ALPR result as sent (the live service's ``start_data``/``end_data``)
    data: dict | None = None


@dataclass(frozen=True)
class VehicleLog:
    camera: str
    image: bytes | None  # None: a data-only webhook (no image kept)
    image_info: ImageInfo | None
    time_us: int | None  # None: the emulator's now
    sightings: tuple[Sighting, ...]


def parse_vehicle_log(
    body: RequestBody, form_results: list[str] | None, pixel_limit: int
) -> VehicleLog:
    """Validate every field; raise one ``FieldErrors`` naming all the bad ones."""
    errors: dict[str, list[str]] = {}
    camera = image = info = time_us = None
    sightings: tuple[Sighting, ...] = ()
    try:
        camera = _camera(body)
    except Invalid as exc:
        errors["camera"] = [str(exc)]
    try:
        image = _image_bytes(body)
        info = inspect_image(image, pixel_limit)
    except (Invalid, InvalidImage) as exc:
        errors["image"] = [str(exc)]
    try:
        sightings = _sightings(body, form_results)
    except Invalid as exc:
        errors["results"] = [str(exc)]
    try:
        time_us = parse_time(body.fields.get("time"))
    except Invalid as exc:
        errors["time"] = [str(exc)]
    if errors:
        raise FieldErrors(errors)
    return VehicleLog(camera, image, info, time_us, sightings)  # type: ignore[arg-type]


def _camera(body: RequestBody) -> str:
    if "camera" not in body.fields:
        raise Invalid(REQUIRED)
    return text_value(body.fields["camera"], CODE_MAX)


def _image_bytes(body: RequestBody) -> bytes:
    if "image" in body.files:
        return body.files["image"]
    value = body.fields.get("image")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid(NO_FILE)
    if not isinstance(value, str):
        raise Invalid(BAD_BASE64)
    return decode_base64(value)


def decode_base64(text: str) -> bytes:
    """Standard or URL-safe alphabet, padding optional, whitespace and data-URL prefix ignored."""
    value = text.strip()
    if value[:5].lower() == "data:" and "," in value:
        value = value.split(",", 1)[1]
    value = "".join(value.split())
    value += "=" * (-len(value) % 4)
    altchars = b"-_" if ("-" in value or "_" in value) else None
    try:
        return base64.b64decode(value, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(BAD_BASE64) from None


def parse_time(value: object) -> int | None:
    """A sighting's time in microseconds; None when not given. No offset means UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise Invalid(BAD_TIME)
    if isinstance(value, int | float):  # seconds since the epoch
        if not math.isfinite(value) or not 0 <= value < 253_402_300_800:
            raise Invalid(BAD_TIME)
        return int(round(value * 1_000_000))
    if not isinstance(value, str) or len(value) > 64:
        raise Invalid(BAD_TIME)
    moment = _parse_time_text(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment < LATEST:
        raise Invalid(BAD_TIME)
    return to_us(moment)


def _parse_time_text(text: str) -> datetime:
    for form in TIME_FORMATS:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        raise Invalid(BAD_TIME) from None


def _sightings(body: RequestBody, form_results: list[str] | None) -> tuple[Sighting, ...]:
    if form_results is not None and not body.is_json:
        if not form_results:
            raise Invalid(REQUIRED)
        items: list = []
        for text in form_results:
            items.extend(_as_items(_parse_text(text)))
    else:
        if "results" not in body.fields or body.fields["results"] is None:
            raise Invalid(REQUIRED)
        value = body.fields["results"]
        items = _as_items(_parse_text(value) if isinstance(value, str) else value)
    if len(items) > MAX_RESULTS:
        raise Invalid(f"Ensure this field has no more than {MAX_RESULTS} elements.")
    return tuple(_sighting(item) for item in items)


def _parse_text(text: str) -> object:
    """JSON; failing that a Python literal (``str(dict)``, as ``requests`` writes form lists)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if len(text) <= MAX_LITERAL:
        try:
            return ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    raise Invalid(BAD_JSON)


def _as_items(value: object) -> list:
    """A list of results, one result object, or a whole ALPR response with ``results``."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        inner = value.get("results")
        if "plate" not in value and isinstance(inner, list):
            return inner
        return [value]
    raise Invalid(BAD_RESULT)


def _sighting(item: object) -> Sighting:
    if not isinstance(item, dict):
        raise Invalid(BAD_RESULT)
    text = result_plate(item)
    if text is None:
        raise Invalid(BAD_RESULT)
    return sighting_of(item, text)


def result_plate(item: dict) -> str | None:
    """The plate text of one ALPR result, in either result format; None when it has none."""
    plate = item.get("plate")
    if isinstance(plate, str):
        return plate
    return _plate_text(plate) if isinstance(plate, dict) else None


def sighting_of(item: dict, text: str) -> Sighting:
    """The sighting of ``text`` that the ALPR result ``item`` describes (raises ``Invalid``)."""
    plate = item.get("plate")
    details = plate if isinstance(plate, dict) else {}
    try:
        normalised = normalise_plate(text)
    except Invalid:
        raise Invalid(BAD_RESULT) from None
    prediction: dict = {}
    box = item.get("box", details.get("box"))
    if box is not None:
        prediction["box"] = box
    prediction["plate"] = text
    score = item.get("score", details.get("score"))
    if score is not None:
        prediction["score"] = score
    if item.get("dscore") is not None:
        prediction["dscore"] = item["dscore"]
    return Sighting(normalised, prediction if len(prediction) > 1 else None, item)


def _plate_text(details: dict) -> str | None:
    """Plate Recognizer's newer result format (``plate.props.plate[0].value``).

    Some camera bridges put the plate text in ``plate.type`` instead; read it there too.
    """
    props = details.get("props")
    candidates = props.get("plate") if isinstance(props, dict) else None
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        value = candidates[0].get("value")
        if isinstance(value, str) and value.strip():
            return value
    for key in ("value", "type"):
        value = details.get(key)
        if isinstance(value, str) and value.strip() and value.strip().lower() != "plate":
            return value
    return None
