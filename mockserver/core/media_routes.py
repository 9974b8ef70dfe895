"""Serves stored images at their unguessable URLs."""

from __future__ import annotations

import os

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
    path = emulator.media.path(row.sha256)
    if not os.path.exists(path):
        raise NotFound()
    return send_file(path, mimetype=row.content_type, max_age=3600, etag=row.sha256)
