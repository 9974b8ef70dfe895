"""VisionAlert create-log upload (HTTP only)."""

from flask import Blueprint

blueprint = Blueprint("visionalert_upload", __name__, url_prefix="/v1/vision-alert")
