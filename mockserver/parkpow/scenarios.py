"""Control-plane view of ParkPow under /_mock/parkpow/ (HTTP only; records in ``alerts``).

The descriptor lists it in ``control_blueprints``: the app mounts it only when the control
plane is on, and the control middleware checks the control token for it as for every
``/_mock/`` path (nothing here imports the control plane).
"""

from __future__ import annotations

from flask import Blueprint, request

from ..core import web
from ..core.errors import FieldErrors
from . import alerts

blueprint = Blueprint("parkpow_scenarios", __name__, url_prefix="/_mock/parkpow")


@blueprint.get("/alerts")
def triggered_alerts():
    """The alerts integrations triggered (trigger-alert), newest first; ``?visit_id=`` filters."""
    raw = request.args.get("visit_id")
    visit_id = None
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()) or int(raw) > alerts.MAX_ID:
            raise FieldErrors({"visit_id": ["A whole number."]})
        visit_id = int(raw)
    return web.json_response(alerts.recorded(web.current_emulator().store, visit_id))
