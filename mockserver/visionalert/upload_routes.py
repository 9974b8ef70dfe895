"""VisionAlert create-log upload (HTTP only): parse at the edge, one service call."""

from __future__ import annotations

from flask import Blueprint, request

from ..core.bodies import read_body
from ..core.urls import base_url
from ..core.web import current_account, current_emulator, json_response, now_us
from . import ingest

blueprint = Blueprint("visionalert_upload", __name__, url_prefix="/v1/vision-alert")

NOT_ENABLED = "VisionAlert is not enabled for your account."


@blueprint.post("/create-log/")
def create_log():
    account = current_account("visionalert", NOT_ENABLED)
    emulator = current_emulator()
    reply = ingest.create_log(
        emulator,
        account,
        now_us(),
        base_url(request, emulator.config.public_base_url),
        lambda: read_body(request),
    )
    return json_response(reply)
