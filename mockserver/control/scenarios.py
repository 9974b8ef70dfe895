"""Scenario controls under /_mock/ for VisionAlert (thresholds, forced scores, review...)."""

from flask import Blueprint

blueprint = Blueprint("control_scenarios", __name__, url_prefix="/_mock")
