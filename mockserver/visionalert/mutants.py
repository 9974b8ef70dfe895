"""VisionAlert's mutants: the contract deviations its clients must be able to catch.

Each is a ``core.mutant.Mutant`` carried by the descriptor; the control plane switches
them on and applies them (``control/mutants.py``).
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select

from ..core import schema
from ..core.dialect import insert_or_ignore
from ..core.mutant import Exchange, Mutant, Reply

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
)
