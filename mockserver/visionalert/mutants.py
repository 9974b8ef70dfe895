"""VisionAlert's mutants: the contract deviations its clients must be able to catch.

Each is a ``core.mutant.Mutant`` carried by the descriptor; the control plane switches
them on and applies them (``control/mutants.py``).
"""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select
from werkzeug.formparser import parse_form_data

from ..core import schema
from ..core.clock import seconds_to_us
from ..core.dialect import insert_or_ignore
from ..core.mutant import Exchange, Mutant, Reply, parse_json
from . import schema as va_schema
from .ingest import ACCEPTED, TOO_SOON

API = r"(?s)/v1/vision-alert/.*"
CAMERA_LIST = re.compile(r"^/v1/vision-alert/[^/]+/cameras/?$")
CAMERA_ITEM = re.compile(r"/v1/vision-alert/([^/]+)/cameras/([^/]+)/?")
CAMERA_READ = re.compile(r"/v1/vision-alert/([^/]+)/cameras/([^/]+)/(logs|reference)/?")
#: a camera, or its logs or reference
CAMERA = r"/v1/vision-alert/[^/]+/cameras/[^/]+(/logs|/reference)?/?"
NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
WRONG_OFFSET = "+02:00"
UTC_Z_TIMESTAMP = re.compile(rb'"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})Z"')
_REMEMBER = insert_or_ignore(schema.mutant_deletions)


def _found(exchange: Exchange, reply: Reply) -> None:
    """A camera read that would be 404 answers 200, empty."""
    read = CAMERA_READ.fullmatch(exchange.path)
    if reply.code != 404 or read is None:
        return
    kind = read.group(3)
    reply.status = "200 OK"
    reply.set_json(
        {"next": None, "previous": None, "results": []}
        if kind == "logs"
        else {"reference_image": None}
    )


def _deleted_found(exchange: Exchange, reply: Reply) -> None:
    """A deleted camera is remembered in the store (so that every worker process answers
    for it); its reads then answer as ``found_not_404``'s."""
    deleted = CAMERA_ITEM.fullmatch(exchange.path) if exchange.method == "DELETE" else None
    if deleted is not None and reply.code == 204:
        row = {"license": deleted.group(1), "serial": deleted.group(2)}
        exchange.emulator.store.transact(
            lambda conn: conn.execute(_REMEMBER[conn.dialect.name].values(row))
        )
        return
    read = CAMERA_READ.fullmatch(exchange.path) if exchange.method == "GET" else None
    if read is None or reply.code != 404:
        return
    license_id, serial, _kind = read.groups()
    gone = schema.mutant_deletions.c
    query = select(gone.license).where(gone.license == license_id, gone.serial == serial)
    if exchange.emulator.store.query(lambda conn: conn.execute(query).first() is not None):
        _found(exchange, reply)


def _status_renamed(exchange: Exchange, reply: Reply) -> None:
    page = reply.page() if reply.code == 200 else None
    if page is None:
        return
    if CAMERA_LIST.match(exchange.path):
        for camera in page.get("results", []):
            if isinstance(camera, dict) and "latest_status" in camera:
                camera["status"] = camera.pop("latest_status")
    reply.set_json(page)


def _next_dropped(exchange: Exchange, reply: Reply) -> None:
    page = reply.page() if reply.code == 200 else None
    if page is not None:
        page.pop("next", None)
        reply.set_json(page)


def _offset_timestamps(exchange: Exchange, reply: Reply) -> None:
    if reply.code == 200:
        reply.body = UTC_Z_TIMESTAMP.sub(rb'"\1+00:00"', reply.body)


def _reversed_previous(exchange: Exchange, reply: Reply) -> None:
    if reply.code != 200 or not _reverse_cursor(exchange.query.get("cursor")):
        return
    page = reply.page()
    if page is not None and isinstance(page.get("results"), list):
        page["results"].reverse()
        reply.set_json(page)


def _reverse_cursor(cursor: str | None) -> bool:
    """Whether a cursor (DRF's base64 of ``o=…&r=1&p=…``) walks backward (``r=1``)."""
    if not cursor:
        return False
    try:
        tokens = dict(parse_qsl(base64.b64decode(cursor.encode("ascii")).decode("ascii")))
    except (ValueError, UnicodeError):
        return False
    return tokens.get("r") == "1"


def _naive_as_offset(exchange: Exchange) -> None:
    query = exchange.query
    shifted = {
        key: value + WRONG_OFFSET if key in ("start", "end") and NAIVE.match(value) else value
        for key, value in query.items()
    }
    if shifted != query:
        exchange.environ["QUERY_STRING"] = urlencode(shifted)


# -- rule mutants: every reply still fits the spec; only a model of the world shows them -----

CREATE_LOG = r"/v1/vision-alert/create-log/?"
LOG_LIST = r"/v1/vision-alert/[^/]+(/cameras/[^/]+)?/logs/?"
LICENSE_LOGS = re.compile(r"/v1/vision-alert/([^/]+)/logs/?")
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
THROTTLED = re.compile(r"Expected available in (\d+) seconds?\.")
NO_ROOM = "No VisionAlert license of this account has a free camera slot."


def _form_field(exchange: Exchange, name: str) -> str | None:
    """A field of the request's form, the body left for the API to read again."""
    environ = exchange.environ
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    _stream, form, _files = parse_form_data({**environ, "wsgi.input": io.BytesIO(raw)})
    return form.get(name)


def _refused_at_window_end(exchange: Exchange) -> None:
    """An upload exactly ``camera_window`` after the camera's last accepted one is refused
    (``<=`` where the rule says ``<``)."""
    serial = _form_field(exchange, "camera_id")
    token = exchange.environ.get("HTTP_AUTHORIZATION", "").removeprefix("Token ").strip()
    if not serial or not token:
        return
    cameras, tokens = va_schema.va_cameras.c, schema.tokens.c
    query = (
        select(cameras.last_accepted_us)
        .join(schema.tokens, tokens.account_id == cameras.account_id)
        .where(tokens.token == token, cameras.serial == serial)
    )
    emulator = exchange.emulator
    last = emulator.store.query(lambda conn: conn.execute(query).scalar())
    window = seconds_to_us(emulator.settings()["camera_window"])
    if last is not None and emulator.clock.now_us() - last == window:
        headers = [("Content-Type", "application/json"), ("Retry-After", "1")]
        exchange.answer = Reply(
            "429 Too Many Requests", headers, json.dumps({"message": TOO_SOON}).encode()
        )


def _window_wait_whole(exchange: Exchange, reply: Reply) -> None:
    """A camera's refused upload says the whole window, not what is left of it."""
    if reply.code != 429 or parse_json(reply.body) != {"message": TOO_SOON}:
        return
    whole = str(int(exchange.emulator.settings()["camera_window"]))
    reply.headers = [(n, whole if n.lower() == "retry-after" else v) for n, v in reply.headers]


def _throttle_wait_long(exchange: Exchange, reply: Reply) -> None:
    """The account throttle's wait is said one second too long (text and header agree)."""
    body = parse_json(reply.body) if reply.code == 429 else None
    detail = body.get("detail") if isinstance(body, dict) else None
    found = THROTTLED.search(detail) if isinstance(detail, str) else None
    if found is None:
        return
    wait = int(found.group(1)) + 1
    reply.set_json({"detail": f"Request was throttled. Expected available in {wait} seconds."})
    reply.headers = [(n, str(wait) if n.lower() == "retry-after" else v) for n, v in reply.headers]


def _overfilled(exchange: Exchange, reply: Reply) -> None:
    """A new camera with no license room is answered as accepted (and then lost)."""
    if reply.code == 403 and parse_json(reply.body) == {"message": NO_ROOM}:
        reply.status = "200 OK"
        reply.set_json(ACCEPTED)


def _visible_late(exchange: Exchange, reply: Reply) -> None:
    """A log shows a second after ``processing_delay``, not at it."""
    page = reply.page() if reply.code == 200 else None
    if page is None or not isinstance(page.get("results"), list):
        return
    emulator = exchange.emulator
    shown_from = emulator.clock.now_us() - seconds_to_us(
        emulator.settings()["processing_delay"] + 1
    )
    page["results"] = [row for row in page["results"] if _created_us(row) <= shown_from]
    reply.set_json(page)


def _created_us(row: object) -> int:
    text = row.get("created") if isinstance(row, dict) else None
    try:
        return seconds_to_us(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _ties_oldest_first(exchange: Exchange, reply: Reply) -> None:
    """Rows of one ``created`` come oldest id first (the order's tie-break reversed)."""
    page = reply.page() if reply.code == 200 else None
    rows = page.get("results") if page is not None else None
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and isinstance(row.get("id"), int) for row in rows
    ):
        return
    page["results"] = sorted(
        rows, key=lambda row: (str(row.get("created")), -row["id"]), reverse=True
    )
    reply.set_json(page)


def _first_tag_only(exchange: Exchange, reply: Reply) -> None:
    """``tag`` finds the logs of cameras whose first tag it is, not of every camera holding it."""
    found = LICENSE_LOGS.fullmatch(exchange.path)
    tag = exchange.query.get("tag")
    page = reply.page() if reply.code == 200 and found and tag else None
    if page is None or not found.group(1).isdigit():
        return
    firsts = _first_tags(exchange.emulator, int(found.group(1)))
    page["results"] = [
        row for row in page["results"] if firsts.get(row.get("camera_serial")) == tag
    ]
    reply.set_json(page)


def _first_tags(emulator, license_id: int) -> dict[str, str]:
    cameras, links, tags = va_schema.va_cameras, va_schema.va_camera_tags, va_schema.va_tags
    query = (
        select(cameras.c.serial, tags.c.name)
        .join(links, links.c.camera_id == cameras.c.id)
        .join(tags, tags.c.id == links.c.tag_id)
        .where(cameras.c.license_id == license_id)
        .order_by(cameras.c.serial, links.c.ordinal.desc(), links.c.tag_id.desc())
    )
    rows = emulator.store.query(lambda conn: conn.execute(query).all())
    return {serial: name for serial, name in rows}  # the last one written: the lowest ordinal


def _end_exclusive(exchange: Exchange) -> None:
    """A timestamp ``end`` is exclusive (``created < end``), not exact."""
    value = exchange.query.get("end", "")
    if not value or DATE_ONLY.match(value):
        return
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return
    _rewrite(exchange, "end", (moment - timedelta(microseconds=1)).isoformat())


def _end_day_short(exchange: Exchange) -> None:
    """A date ``end`` stops before 23:59:59 of its day, not after it."""
    value = exchange.query.get("end", "")
    if DATE_ONLY.match(value):
        _rewrite(exchange, "end", f"{value}T23:59:58.999999")


def _rewrite(exchange: Exchange, name: str, value: str) -> None:
    exchange.environ["QUERY_STRING"] = urlencode({**exchange.query, name: value})


#: in the order their reply rewrites apply (a read answered 200 is then reshaped)
MUTANTS = (
    Mutant(
        "found_not_404",
        "A camera that does not exist answers 200 (an empty page, no reference) instead of 404.",
        path=CAMERA,
        methods=frozenset({"GET"}),
        reply=_found,
    ),
    Mutant(
        "deleted_camera_reuse",
        "A deleted camera's logs and reference still answer 200.",
        path=CAMERA,
        methods=frozenset({"GET", "DELETE"}),
        reply=_deleted_found,
    ),
    Mutant(
        "renamed_field",
        "VisionAlert cameras carry `status` instead of `latest_status`.",
        path=API,
        reply=_status_renamed,
    ),
    Mutant(
        "missing_next",
        "Paginated envelopes lose their `next` key.",
        path=API,
        reply=_next_dropped,
    ),
    Mutant(
        "offset_timestamps",
        "VisionAlert timestamps are written `2026-04-10T14:30:00+00:00`: the same instant,"
        " not the documented `Z` form.",
        path=API,
        reply=_offset_timestamps,
    ),
    Mutant(
        "reversed_previous_page",
        "A page reached through `previous` lists its rows oldest first (the reverse keyset"
        " query is not turned back).",
        path=API,
        reply=_reversed_previous,
    ),
    Mutant(
        "naive_timezone",
        "Naive start/end timestamps are read as UTC+02:00, not in the server timezone.",
        path=API,
        request=_naive_as_offset,
    ),
    Mutant(
        "window_end_refused",
        "An upload exactly 15 minutes after the camera's last accepted one is refused.",
        path=CREATE_LOG,
        methods=frozenset({"POST"}),
        request=_refused_at_window_end,
    ),
    Mutant(
        "window_wait_whole",
        "A camera's refused upload gives the whole window as Retry-After, not what is left.",
        path=CREATE_LOG,
        methods=frozenset({"POST"}),
        reply=_window_wait_whole,
    ),
    Mutant(
        "throttle_wait_long",
        "The account throttle says a wait one second longer than it is (text and header).",
        path=CREATE_LOG,
        methods=frozenset({"POST"}),
        reply=_throttle_wait_long,
    ),
    Mutant(
        "license_overfilled",
        "A new camera with no license room is answered as accepted (and not kept).",
        path=CREATE_LOG,
        methods=frozenset({"POST"}),
        reply=_overfilled,
    ),
    Mutant(
        "log_visible_late",
        "A log appears a second after processing_delay, not at it.",
        path=LOG_LIST,
        methods=frozenset({"GET"}),
        reply=_visible_late,
    ),
    Mutant(
        "ties_oldest_first",
        "Rows created at one instant are listed oldest id first.",
        path=API,
        methods=frozenset({"GET"}),
        reply=_ties_oldest_first,
    ),
    Mutant(
        "tag_filter_first_tag",
        "tag finds the logs of cameras whose first tag it is, not of every camera holding it.",
        path=LOG_LIST,
        methods=frozenset({"GET"}),
        reply=_first_tag_only,
    ),
    Mutant(
        "end_exclusive",
        "A timestamp end is exclusive: a row created exactly at end is left out.",
        path=API,
        methods=frozenset({"GET"}),
        request=_end_exclusive,
    ),
    Mutant(
        "end_day_short",
        "A date end stops before 23:59:59 of its day: a row created at 23:59:59 is left out.",
        path=API,
        methods=frozenset({"GET"}),
        request=_end_day_short,
    ),
)
