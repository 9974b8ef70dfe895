"""VisionAlert create-log upload (HTTP only): parse at the edge, one service call."""

from __future__ import annotations

from flask import Blueprint, request

from ..core.bodies import read_body
from ..core.urls import base_url
from ..core.web import current_account, current_emulator, json_response, now_us
from . import ingest

blueprint = Blueprint("visionalert_upload", __name__, url_prefix="/v1/vision-alert")

NOT_ENABLED = "VisionAlert is not enabled for your account."

#: The VisionAlert document says that "the CORS policy of this endpoint [create-log] allows
#: requests from all origins"; it says nothing about any other endpoint. So create-log
#: (with and without its trailing slash) answers browsers from any origin, and nothing else
#: does (``core/cors.py`` applies it; the descriptor carries it).
CORS_POLICY = {
    r"/v1/vision-alert/create-log/?": {
        "origins": "*",
        "send_wildcard": True,  # "allows requests from all origins": Allow-Origin is "*"
        "always_send": False,  # like django-cors-headers: only requests with an Origin
        "methods": ["POST", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type"],
        "expose_headers": ["Retry-After"],
        "max_age": 600,
        "supports_credentials": False,
        "vary_header": True,
    }
}


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


def upload_outcome(status: int, body: bytes) -> str:
    """What a create-log reply says became of the upload (its metrics): a 429 is the
    camera's window when it says so, else the account's throttle."""
    if status < 300:
        return "accepted"
    if status == 429:
        return "window" if ingest.TOO_SOON.encode() in body else "throttled"
    if status in (401, 403):
        return "denied"
    return "invalid" if status < 500 else "error"
