"""VisionAlert read API: HTTP only (parse, one service call, serialise)."""

from __future__ import annotations

from flask import Blueprint

from ..core.web import current_account, json_response
from . import service

blueprint = Blueprint("visionalert", __name__, url_prefix="/v1/vision-alert")


@blueprint.get("/licenses/")
def list_licenses():
    account = current_account("visionalert")
    return json_response(service.list_licenses(account))
