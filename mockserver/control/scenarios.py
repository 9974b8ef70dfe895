"""Scenario controls under /_mock/visionalert/ (HTTP only; rules in visionalert.scenarios).

Cameras are addressed as ``/_mock/visionalert/licenses/<license_id>/cameras/<serial>``,
the same pair the read API uses.
"""

from __future__ import annotations

from flask import Blueprint, request

from ..core.errors import FieldErrors
from ..core.web import json_response, now_us
from ..visionalert import scenarios
from .routes import _control_token, _json_object

blueprint = Blueprint("control_scenarios", __name__, url_prefix="/_mock/visionalert")
blueprint.before_request(_control_token)

CAMERA = "/licenses/<int:license_id>/cameras/<serial>"


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise FieldErrors({name: ["A whole number."]}) from None


@blueprint.get(CAMERA)
def camera_state(license_id: int, serial: str):
    return json_response(scenarios.camera_state(license_id, serial, now_us()))


@blueprint.get(CAMERA + "/thresholds")
def get_thresholds(license_id: int, serial: str):
    return json_response(scenarios.thresholds(license_id, serial))


@blueprint.route(CAMERA + "/thresholds", methods=["POST", "PATCH"])
def set_thresholds(license_id: int, serial: str):
    return json_response(scenarios.set_thresholds(license_id, serial, _json_object(), now_us()))


@blueprint.get(CAMERA + "/forced-scores")
def get_forced(license_id: int, serial: str):
    return json_response(scenarios.forced(license_id, serial))


@blueprint.post(CAMERA + "/forced-scores")
def add_forced(license_id: int, serial: str):
    return json_response(scenarios.force(license_id, serial, _json_object(), now_us()), 201)


@blueprint.delete(CAMERA + "/forced-scores")
def clear_forced(license_id: int, serial: str):
    return json_response(scenarios.clear_forced(license_id, serial, now_us()))


@blueprint.post("/logs/<int:log_id>/resolve")
def resolve(log_id: int):
    return json_response(scenarios.resolve(log_id, _json_object(), now_us()))


@blueprint.get("/licenses/<int:license_id>/notifications")
def get_notifications(license_id: int):
    return json_response(scenarios.notifications(license_id))


@blueprint.route("/licenses/<int:license_id>/notifications", methods=["POST", "PATCH"])
def set_notifications(license_id: int):
    return json_response(scenarios.set_notifications(license_id, _json_object(), now_us()))


@blueprint.get("/alerts")
def alerts():
    return json_response(scenarios.alerts(_int_arg("license_id")))


@blueprint.get("/deliveries")
def deliveries():
    return json_response(scenarios.deliveries(_int_arg("alert_id")))


@blueprint.get("/outbox")
def outbox():
    return json_response(scenarios.outbox())
