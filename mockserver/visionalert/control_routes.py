"""Scenario controls under /_mock/visionalert/ (HTTP only; rules in ``scenarios``).

Mounted through the descriptor's ``control_blueprints``, so only with the control plane on,
behind its token check.

Cameras are addressed as ``/_mock/visionalert/licenses/<license_id>/cameras/<serial>``,
the same pair the read API uses.
"""

from __future__ import annotations

from flask import Blueprint, request

from ..core.bodies import read_json_object
from ..core.errors import FieldErrors
from ..core.numbers import ID_ERROR, parse_id
from ..core.web import current_emulator, json_response, now_us
from . import scenarios

blueprint = Blueprint("control_scenarios", __name__, url_prefix="/_mock/visionalert")

CAMERA = "/licenses/<int:license_id>/cameras/<serial>"


def _id_arg(name: str) -> int | None:
    """An id filter: absent, or an id the store can hold (else 400, never a query)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    number = parse_id(raw)
    if number is None:
        raise FieldErrors({name: [ID_ERROR]})
    return number


@blueprint.get(CAMERA)
def camera_state(license_id: int, serial: str):
    return json_response(scenarios.camera_state(current_emulator(), license_id, serial, now_us()))


@blueprint.get(CAMERA + "/thresholds")
def get_thresholds(license_id: int, serial: str):
    return json_response(scenarios.thresholds(current_emulator(), license_id, serial))


@blueprint.route(CAMERA + "/thresholds", methods=["POST", "PATCH"])
def set_thresholds(license_id: int, serial: str):
    return json_response(
        scenarios.set_thresholds(
            current_emulator(), license_id, serial, read_json_object(request), now_us()
        )
    )


@blueprint.get(CAMERA + "/forced-scores")
def get_forced(license_id: int, serial: str):
    return json_response(scenarios.forced(current_emulator(), license_id, serial))


@blueprint.post(CAMERA + "/forced-scores")
def add_forced(license_id: int, serial: str):
    return json_response(
        scenarios.force(
            current_emulator(), license_id, serial, read_json_object(request), now_us()
        ),
        201,
    )


@blueprint.delete(CAMERA + "/forced-scores")
def clear_forced(license_id: int, serial: str):
    return json_response(scenarios.clear_forced(current_emulator(), license_id, serial, now_us()))


@blueprint.post("/logs/<int:log_id>/resolve")
def resolve(log_id: int):
    return json_response(
        scenarios.resolve(current_emulator(), log_id, read_json_object(request), now_us())
    )


@blueprint.get("/licenses/<int:license_id>/notifications")
def get_notifications(license_id: int):
    return json_response(scenarios.notifications(current_emulator(), license_id))


@blueprint.route("/licenses/<int:license_id>/notifications", methods=["POST", "PATCH"])
def set_notifications(license_id: int):
    return json_response(
        scenarios.set_notifications(
            current_emulator(), license_id, read_json_object(request), now_us()
        )
    )


@blueprint.get("/alerts")
def alerts():
    return json_response(scenarios.alerts(current_emulator(), _id_arg("license_id")))


@blueprint.get("/deliveries")
def deliveries():
    return json_response(scenarios.deliveries(current_emulator(), _id_arg("alert_id")))


@blueprint.get("/outbox")
def outbox():
    return json_response(scenarios.outbox(current_emulator()))
