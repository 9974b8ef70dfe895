"""Serves stored images at their unguessable URLs."""

from __future__ import annotations

import io

from flask import Blueprint, send_file

from .errors import NotFound
from .web import current_emulator

blueprint = Blueprint("media", __name__)


@blueprint.get("/media/<kind>/<name>")
def media_file(kind: str, name: str):
    emulator = current_emulator()
    row = emulator.store.query(lambda conn: emulator.media.lookup(conn, name))
    if row is None or row.kind != kind:
        raise NotFound()
    content = emulator.media.read(row.sha256)
    if content is None:
        raise NotFound()
    return send_file(io.BytesIO(content), mimetype=row.content_type, max_age=3600, etag=row.sha256)
