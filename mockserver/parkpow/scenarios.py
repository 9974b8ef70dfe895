"""Control-plane view of ParkPow under /_mock/parkpow/ (HTTP only; records in ``alerts``).

The descriptor lists it in ``control_blueprints``: the app mounts it only when the control
plane is on, and the control middleware checks the control token for it as for every
``/_mock/`` path (nothing here imports the control plane).
"""

from __future__ import annotations

from flask import Blueprint, request

from ..core import web
from ..core.errors import FieldErrors
from ..core.numbers import ID_ERROR, parse_id
from . import alerts

blueprint = Blueprint("parkpow_scenarios", __name__, url_prefix="/_mock/parkpow")


@blueprint.get("/alerts")
def triggered_alerts():
    """The alerts integrations triggered (trigger-alert), newest first; ``?visit_id=`` filters."""
    raw = request.args.get("visit_id")
    visit_id = None
    if raw is not None:
        visit_id = parse_id(raw)
        if visit_id is None:
            raise FieldErrors({"visit_id": [ID_ERROR]})
    return web.json_response(alerts.recorded(web.current_emulator().store, visit_id))
