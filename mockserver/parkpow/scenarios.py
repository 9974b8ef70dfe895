"""Control-plane view of ParkPow under /_mock/parkpow/ (HTTP only; records in ``alerts``).

Registered only when the control plane is on, behind the same control token as the rest of
``/_mock/``.
"""

from __future__ import annotations

from flask import Blueprint, request

from ..control.routes import _control_token
from ..core import web
from ..core.errors import FieldErrors
from . import alerts

blueprint = Blueprint("parkpow_scenarios", __name__, url_prefix="/_mock/parkpow")
blueprint.before_request(_control_token)


@blueprint.get("/alerts")
def triggered_alerts():
    """The alerts integrations triggered (trigger-alert), newest first; ``?visit_id=`` filters."""
    raw = request.args.get("visit_id")
    visit_id = None
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()) or int(raw) > alerts.MAX_ID:
            raise FieldErrors({"visit_id": ["A whole number."]})
        visit_id = int(raw)
    return web.json_response(alerts.recorded(web.emulator().store, visit_id))
