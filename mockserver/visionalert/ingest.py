"""create-log: which uploads are accepted, in the order the vendor's service checks them.

auth → product (both at the edge) → per-account throttle → validation → per-camera window
→ accept. Acceptance is one short write transaction whose first statement takes the
camera's window (``take_window``: on SQLite the writers of every process take turns, on
PostgreSQL the camera's row is locked and the window re-checked on its latest commit), so
concurrent uploads for one camera from any number of processes and hosts yield exactly one
accepted upload per window, with no transaction run twice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, or_, select, update

from ..core.auth import Account
from ..core.bodies import RequestBody
from ..core.clock import seconds_to_us
from ..core.emulator import Emulator
from ..core.errors import (
    BLANK,
    NO_FILE,
    NOT_A_FILE,
    NULL_CHARACTER,
    REQUIRED,
    FieldErrors,
    Message,
    Throttled,
)
from ..core.images import INVALID_IMAGE, ImageInfo, InvalidImage, inspect_image
from ..core.readcache import cached_value
from . import camera_tags, judging, notify, schema, scoring

SNAPSHOT_KIND = "camera_snapshot"
THROTTLE_SCOPE = "visionalert.create_log"
SERIAL_MAX = 128
TAG_MAX = 100

ACCEPTED = {"message": "Log created successfully."}
TOO_SOON = "Camera already uploaded a log recently."
LICENSE_EXPIRED = "The VisionAlert license of this camera has expired."
BAD_CHARACTERS = "May not contain '/' or control characters."


@dataclass(frozen=True)
class Upload:
    serial: str
    tag: str | None
    content: bytes
    image: ImageInfo
    analysis: scoring.Analysis


def create_log(
    emulator: Emulator,
    account: Account,
    now_us: int,
    base_url: str,
    read_body: Callable[[], RequestBody],
) -> dict:
    """The create-log rule after auth and product. The body is read after the throttle,
    as DRF throttles before parsing (so an oversized body still counts as a request)."""
    throttle(emulator, account, now_us)
    upload = validate(read_body(), emulator.config.pixel_limit)
    accept(emulator, account, upload, whole_second(now_us), base_url)
    return ACCEPTED


def whole_second(instant_us: int) -> int:
    """What VisionAlert stores: whole seconds, as its replies show them
    (``2026-04-10T14:30:00Z``), so a reply's ``created`` used as an exact ``end`` filter
    includes that row. The throttle keeps the precise time."""
    return instant_us - instant_us % 1_000_000


# -- per-account throttle (DRF SimpleRateThrottle on the emulator clock) -------------------


def throttle_rate(rate_per_second: float) -> tuple[int, float]:
    """(requests, per seconds) for a rate: 1 → 1 per 1 s, 0.5 → 1 per 2 s, 2.5 → 3 per 1.2 s."""
    requests = max(1, round(rate_per_second))
    return requests, requests / rate_per_second


def throttle(emulator: Emulator, account: Account, now_us: int) -> None:
    """Record this request in the account's history, or raise 429 with DRF's wait.

    The history's row is locked while it is read and written (concurrent requests of the
    account take turns on it); the first request of an account that races another one
    for the new row meets a unique key and runs again."""
    if account.rate_limit_per_second is None:
        return
    allowed, duration = throttle_rate(account.rate_limit_per_second)
    duration_us = seconds_to_us(duration)
    table = schema.throttles

    def work(conn: Connection) -> None:
        key = (table.c.account_id == account.id) & (table.c.scope == THROTTLE_SCOPE)
        row = conn.execute(select(table.c.history).where(key).with_for_update()).first()
        history = json.loads(row.history) if row else []
        while history and history[-1] <= now_us - duration_us:
            history.pop()
        if len(history) >= allowed:
            remaining = duration_us - (now_us - history[-1])
            available = allowed - len(history) + 1
            raise Throttled(max(remaining, 0) / 1_000_000 / max(available, 1))
        history.insert(0, now_us)
        text = json.dumps(history)
        if row is None:
            conn.execute(
                table.insert().values(account_id=account.id, scope=THROTTLE_SCOPE, history=text)
            )
        else:
            conn.execute(update(table).where(key).values(history=text))

    emulator.store.transact(work, row_locked=True)


# -- validation -----------------------------------------------------------------------------


def _text_field(body: RequestBody, name: str, max_length: int, required: bool) -> str | None:
    """DRF CharField rules (trimmed; blank; length; null characters) plus path safety."""
    value = body.text(name)
    if value is None:
        if required:
            raise _FieldError(REQUIRED)
        return None
    value = value.strip()
    if not value:
        if required:
            raise _FieldError(BLANK)
        return None
    if "\x00" in value:
        raise _FieldError(NULL_CHARACTER)
    if len(value) > max_length:
        raise _FieldError(f"Ensure this field has no more than {max_length} characters.")
    if "/" in value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise _FieldError(BAD_CHARACTERS)
    return value


class _FieldError(Exception):
    pass


def validate(body: RequestBody, pixel_limit: int) -> Upload:
    """Every field error at once, as DRF reports them.

    The image is decoded once, at reduced size, by its analysis: a file that does not
    decode (not an image, truncated) is invalid, and the analysis is kept with the log, so
    judging it again never decodes the stored file.
    """
    errors: dict[str, list[str]] = {}
    values: dict[str, str | None] = {}
    for name, limit, required in (("camera_id", SERIAL_MAX, True), ("tag", TAG_MAX, False)):
        try:
            values[name] = _text_field(body, name, limit, required)
        except _FieldError as error:
            errors[name] = [str(error)]
    content = body.files.get("upload")
    image = analysis = None
    if content is None:
        errors["upload"] = [NOT_A_FILE if body.fields.get("upload") else NO_FILE]
    else:
        try:
            image = inspect_image(content, pixel_limit, decode=False)
            analysis = scoring.analyse(content)
        except InvalidImage as error:
            errors["upload"] = [str(error)]
        except Exception:  # Pillow and NumPy raise many kinds for a broken stream
            errors["upload"] = [INVALID_IMAGE]
    if errors:
        raise FieldErrors(errors)
    return Upload(values["camera_id"], values["tag"], content, image, analysis)


# -- the per-camera window and acceptance ---------------------------------------------------


def _too_soon(last_us: int | None, now_us: int, window_us: int) -> Message | None:
    if last_us is None or window_us <= 0 or now_us - last_us >= window_us:
        return None
    wait = max(1, math.ceil((window_us - (now_us - last_us)) / 1_000_000))
    return Message(TOO_SOON, 429, {"Retry-After": str(wait)})


_FORCED = schema.va_forced_scores.c
_CAM = schema.va_cameras.c
_LIC = schema.va_licenses.c
#: the camera of a serial, its license's expiry and whether forced scores are queued for
#: it: one prebuilt statement (the hot path of every upload)
_CAMERA = select(
    schema.va_cameras,
    select(_LIC.expiration_us)
    .where(_LIC.id == _CAM.license_id)
    .scalar_subquery()
    .label("license_expiration_us"),
    select(_FORCED.id)
    .where(_FORCED.camera_id == _CAM.id, _FORCED.remaining > 0)
    .exists()
    .label("forced_queued"),
).where(_CAM.account_id == bindparam("account"), _CAM.serial == bindparam("serial"))
#: the window taken: the camera's last accepted upload moves to now if it is out of its
#: window, in one statement that locks the row (``UPDATE`` re-checks its condition on the
#: newest row it waited for), so of concurrent uploads for one camera exactly one passes
_TAKE_WINDOW = (
    update(schema.va_cameras)
    .where(
        _CAM.account_id == bindparam("account"),
        _CAM.serial == bindparam("camera_serial"),
        or_(_CAM.last_accepted_us.is_(None), _CAM.last_accepted_us <= bindparam("since")),
    )
    .values(last_accepted_us=bindparam("now"))
    .returning(_CAM.id)
)
#: ``since`` when the window is off: every earlier upload is out of it
_NO_WINDOW = 2**62


def _camera(conn: Connection, account_id: int, serial: str):
    return conn.execute(_CAMERA, {"account": account_id, "serial": serial}).first()


def take_window(conn: Connection, account_id: int, serial: str, now_us: int, window_us: int):
    """Inside the accept transaction: the camera of ``serial`` with its window taken by
    this upload (its row locked to the commit), or None for a serial not registered yet;
    a refusal when it is within its window. Exact across processes and hosts: SQLite's
    writers take turns, and PostgreSQL's ``UPDATE`` waits for a concurrent upload of the
    camera and then sees its commit."""
    since = now_us - window_us if window_us > 0 else _NO_WINDOW
    values = {"account": account_id, "camera_serial": serial, "since": since, "now": now_us}
    for _ in range(2):  # twice: a camera registered between the two statements
        taken = conn.execute(_TAKE_WINDOW, values).first()
        camera = _camera(conn, account_id, serial)  # after the lock: the latest commit
        if camera is None or taken is not None:
            return camera
        refusal = _too_soon(camera.last_accepted_us, now_us, window_us)
        if refusal:
            raise refusal
    raise _too_soon(now_us, now_us, max(window_us, 1))


def accept(
    emulator: Emulator, account: Account, upload: Upload, now_us: int, base_url: str
) -> None:
    """One write transaction: the window taken, the camera registered if new, and the
    upload's log written (visible ``processing_delay`` later, see ``judging``).

    Hashing, the file write and the comparison with the reference run before it. The
    run-time settings are the request's (read once per change of them): a change that
    commits while the upload is in flight applies from the next upload on."""
    settings = emulator.settings()
    window_us = seconds_to_us(settings["camera_window"])
    # Fast path: a camera inside its window is refused before any file is written.
    known = emulator.store.query(lambda conn: _camera(conn, account.id, upload.serial))
    if known is not None and (refusal := _too_soon(known.last_accepted_us, now_us, window_us)):
        raise refusal
    visible_us = now_us + seconds_to_us(settings["processing_delay"])
    compared = judging.compare_before(emulator, known, upload.analysis, visible_us)
    sha = emulator.media.write_file(upload.content)
    judging_settings = judging.JudgingSettings.of(settings)
    # read once per change of the configuration (``meta`` is part of it), written on change
    remembered = cached_value(
        ("base_url",),
        lambda: emulator.store.query(notify.remembered_base_url),
        configuration=True,
    )

    def work(conn: Connection) -> None:
        camera = take_window(conn, account.id, upload.serial, now_us, window_us)
        if camera is not None:
            if camera.license_expiration_us <= now_us:
                raise Message(LICENSE_EXPIRED, 403)
        else:
            camera_id, license_id = register_camera(
                conn, account.id, upload.serial, now_us, accepted=True
            )
            camera = NewCamera(camera_id, license_id)
        if upload.tag:
            tag_camera(conn, account.id, camera.id, upload.tag, now_us)
        size, content_type = len(upload.content), upload.image.content_type
        media_id = emulator.media.add(
            conn, sha, size, content_type, SNAPSHOT_KIND, now_us, upload.content
        )
        judging.record(
            emulator,
            conn,
            camera,
            judging.Snapshot(media_id, sha, upload.analysis, size, content_type),
            upload.tag,
            now_us,
            compared,
            judging_settings,
        )
        if base_url != remembered:
            notify.remember_base_url(conn, base_url)

    # A refusal inside the transaction (a racing upload won) leaves the bytes on disk:
    # they are content-addressed and may already belong to another camera's upload.
    emulator.store.transact(work, row_locked=True)


#: the account's licenses in id order, with how many cameras each holds
_LICENSES = (
    select(
        _LIC.id,
        _LIC.size,
        _LIC.expiration_us,
        select(func.count())
        .select_from(schema.va_cameras)
        .where(_CAM.license_id == _LIC.id)
        .scalar_subquery()
        .label("used"),
    )
    .where(_LIC.account_id == bindparam("account"))
    .order_by(_LIC.id)
)


_LOCK_LICENSES = select(_LIC.id).where(_LIC.account_id == bindparam("account")).with_for_update()


@dataclass(frozen=True)
class NewCamera:
    """What judging an upload needs of a camera registered by it."""

    id: int
    license_id: int
    thresholds: str = "{}"
    forced_queued: bool = False
    registered_now: bool = True


def register_camera(
    conn: Connection, account_id: int, serial: str, now_us: int, accepted: bool = False
) -> tuple[int, int]:
    """A new serial joins the first non-expired license (lowest id) with a free slot:
    (camera id, license id). ``accepted``: registered by an upload accepted now.

    The account's licenses are locked first (PostgreSQL; SQLite's writers take turns), so
    two registrations never both take a license's last slot; a serial registered
    meanwhile by another host is a unique-key conflict, and the unit runs again."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK_LICENSES, {"account": account_id})
    licenses = conn.execute(_LICENSES, {"account": account_id}).all()
    active = [row for row in licenses if row.expiration_us > now_us]
    chosen = next((row for row in active if row.used < row.size), None)
    if chosen is None:
        if not licenses:
            raise Message("This account has no VisionAlert license.", 403)
        if not active:
            raise Message("Every VisionAlert license of this account has expired.", 403)
        raise Message("No VisionAlert license of this account has a free camera slot.", 403)
    camera_id = conn.execute(
        schema.va_cameras.insert(),
        {
            "license_id": chosen.id,
            "account_id": account_id,
            "serial": serial,
            "name": serial,
            "created_us": now_us,
            "modified_us": now_us,
            "last_accepted_us": now_us if accepted else None,
        },
    ).inserted_primary_key[0]
    return camera_id, chosen.id


def tag_camera(conn: Connection, account_id: int, camera_id: int, name: str, now_us: int) -> None:
    """Create the tag if missing and add it to the camera; existing tags stay."""
    tags = schema.va_tags.c
    tag_id = conn.execute(
        select(tags.id).where(tags.account_id == account_id, tags.name == name)
    ).scalar()
    if tag_id is None:
        tag_id = conn.execute(
            schema.va_tags.insert().values(account_id=account_id, name=name)
        ).inserted_primary_key[0]
    link = schema.va_camera_tags.c
    linked = conn.execute(
        select(link.camera_id).where(link.camera_id == camera_id, link.tag_id == tag_id)
    ).first()
    if linked is None:
        camera_tags.link(conn, camera_id, tag_id)
        conn.execute(
            update(schema.va_cameras)
            .where(schema.va_cameras.c.id == camera_id)
            .values(modified_us=now_us)
        )
