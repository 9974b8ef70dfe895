"""webhook-receiver's input: a Plate Recognizer Stream or Snapshot webhook, checked whole.

The three body forms Plate Recognizer products send to any webhook target:

* multipart: field ``json`` (the payload as JSON text) and file ``upload`` (the image; the
  Snapshot middleware once sent it as a base64 text field, read too);
* form field ``json`` only (Stream "data only");
* the payload itself as a JSON body (Snapshot "data only", the webhook middleware).

The payload is ``{"hook": {"event", "id", ...}, "data": {"camera_id", "timestamp",
"results": [...]}}``; unknown keys anywhere are ignored. Each result is one plate read:
plate mode (``plate`` a string) or vehicle mode (``plate`` an object whose
``props.plate[0].value`` is the text, or null: a vehicle whose plate was not read).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..core.bodies import RequestBody
from ..core.errors import REQUIRED, ApiError
from ..core.images import ImageInfo, InvalidImage, inspect_image
from .forms import CODE_MAX, Invalid, text_value
from .sightings import (
    BAD_JSON,
    MAX_RESULTS,
    Sighting,
    decode_base64,
    parse_time,
    result_plate,
    sighting_of,
)

#: events that carry plate reads: Stream's ``recognition``, Snapshot's ``image.done``
READ_EVENTS = ("recognition", "image.done")
NOT_AN_OBJECT = "Expected a dictionary of items."
BAD_RESULT = "Each result must be an object whose plate is a string, an object or null."
NOT_A_NUMBER = "A valid number is required."


@dataclass(frozen=True)
class PlateRead:
    """One result: a sighting, or why it is none (``sighting`` None: no plate was read)."""

    sighting: Sighting | None
    plate: str | None  # the text as sent
    score: float | None  # the read's confidence, where the result gives one


@dataclass(frozen=True)
class Webhook:
    event: str
    camera: str | None  # None only for an event that carries no plate reads
    image: bytes | None
    image_info: ImageInfo | None
    time_us: int | None  # None: the emulator's now
    reads: tuple[PlateRead, ...]

    @property
    def reads_plates(self) -> bool:
        return self.event in READ_EVENTS


def parse_webhook(body: RequestBody, pixel_limit: int) -> Webhook:
    """Validate the whole request; raise one DRF-style error naming every bad part."""
    errors: dict[str, object] = {}
    payload = _payload(body, errors)
    image = info = None
    try:
        image = _image(body)
        if image is not None:
            info = inspect_image(image, pixel_limit)
    except (Invalid, InvalidImage) as exc:
        errors["upload"] = [str(exc)]
    webhook = None
    if payload is not None:
        data_errors: dict[str, list[str]] = {}
        webhook = _webhook(payload, image, info, errors, data_errors)
        if data_errors:
            errors["data"] = data_errors
    if errors or webhook is None:
        raise ApiError(errors, 400)
    return webhook


def _payload(body: RequestBody, errors: dict) -> dict | None:
    if body.is_json:
        return body.fields
    raw = body.fields.get("json")
    if raw is None and "json" in body.files:
        try:
            raw = body.files["json"].decode("utf-8")
        except UnicodeDecodeError:
            raw = ""
    if raw is None:
        errors["json"] = [REQUIRED]
        return None
    try:
        payload = json.loads(raw) if isinstance(raw, str) else raw
    except (ValueError, RecursionError):
        errors["json"] = [BAD_JSON]
        return None
    if not isinstance(payload, dict):
        errors["json"] = [NOT_AN_OBJECT]
        return None
    return payload


def _image(body: RequestBody) -> bytes | None:
    """The frame of a form body; a JSON body is the payload alone (its keys are the payload's)."""
    if body.is_json:
        return None
    if "upload" in body.files:
        return body.files["upload"]
    value = body.fields.get("upload")
    if isinstance(value, str) and value.strip():
        return decode_base64(value)
    if value is not None and not isinstance(value, str):
        raise Invalid("The submitted data was not a file.")
    return None


def _webhook(payload: dict, image, info, errors: dict, data_errors: dict) -> Webhook | None:
    hook = payload.get("hook")
    if hook is None:
        hook = {}
    if not isinstance(hook, dict):
        errors["hook"] = [NOT_AN_OBJECT]
        return None
    event = hook.get("event", "recognition")
    if not isinstance(event, str):
        errors["hook"] = {"event": ["Not a valid string."]}
        return None
    if "data" not in payload or payload["data"] is None:
        errors["data"] = [REQUIRED]
        return None
    data = payload["data"]
    if not isinstance(data, dict):
        errors["data"] = [NOT_AN_OBJECT]
        return None
    reads_plates = event in READ_EVENTS
    camera = time_us = None
    reads: tuple[PlateRead, ...] = ()
    try:
        camera = _camera(data, hook, required=reads_plates)
    except Invalid as exc:
        data_errors["camera_id"] = [str(exc)]
    try:
        time_us = parse_time(data.get("timestamp"))
    except Invalid as exc:
        data_errors["timestamp"] = [str(exc)]
    try:
        reads = _reads(data, required=reads_plates)
    except Invalid as exc:
        data_errors["results"] = [str(exc)]
    if not reads_plates:  # another event (or a test ping): accepted when well-formed, reads nothing
        return Webhook(event, None, image, info, None, ())
    return Webhook(event, camera, image, info, time_us, reads)


def _camera(data: dict, hook: dict, required: bool) -> str | None:
    """``data.camera_id``; Snapshot may send null there, then the hook's ``id`` names it."""
    for value in (data.get("camera_id"), hook.get("id")):
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return text_value(value, CODE_MAX)
    if required:
        raise Invalid(REQUIRED)
    return None


def _reads(data: dict, required: bool) -> tuple[PlateRead, ...]:
    if "results" not in data or data["results"] is None:
        if required:
            raise Invalid(REQUIRED)
        return ()
    results = data["results"]
    if not isinstance(results, list):
        raise Invalid(f'Expected a list of items but got type "{type(results).__name__}".')
    if len(results) > MAX_RESULTS:
        raise Invalid(f"Ensure this field has no more than {MAX_RESULTS} elements.")
    return tuple(_read(item) for item in results)


def _read(item: object) -> PlateRead:
    if not isinstance(item, dict):
        raise Invalid(BAD_RESULT)
    plate = item.get("plate")
    if plate is not None and not isinstance(plate, str | dict):
        raise Invalid(BAD_RESULT)
    score = _score(item)
    text = result_plate(item)
    if text is None:
        if isinstance(plate, str):
            raise Invalid(BAD_RESULT)
        return PlateRead(None, None, score)  # vehicle mode: a vehicle, its plate not read
    return PlateRead(sighting_of(item, text), text, score)


def _score(item: dict) -> float | None:
    """The read's score, a number; the result's own ``score`` must be one too when sent."""
    for value in (item.get("score"), read_score(item)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise Invalid(NOT_A_NUMBER)
    value = read_score(item)
    return None if value is None else float(value)  # type: ignore[arg-type]


def read_score(item: dict) -> object:
    """The read's confidence as sent. Plate mode: ``score``; vehicle mode: the text's own
    ``plate.props.plate[0].score``, else the plate detection's ``plate.score``."""
    plate = item.get("plate")
    value = item.get("score")
    if isinstance(plate, dict):
        props = plate.get("props")
        reads = props.get("plate") if isinstance(props, dict) else None
        if isinstance(reads, list) and reads and isinstance(reads[0], dict):
            value = reads[0].get("score", plate.get("score"))
        else:
            value = plate.get("score", value)
    return value
