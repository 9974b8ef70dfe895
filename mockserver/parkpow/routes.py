"""ParkPow HTTP layer: parse and validate at the edge, one service call, serialise.

Every path answers with and without its trailing slash (the app's URL map is not strict).
"""

from __future__ import annotations

from flask import Blueprint, request

from ..core.bodies import read_body
from ..core.urls import base_url
from ..core.web import current_account, current_emulator, json_response, now_us
from . import forms, serializers, service, visits
from .periods import visit_period
from .sightings import parse_vehicle_log

blueprint = Blueprint("parkpow", __name__, url_prefix="/api/v1")

PRODUCT = "parkpow"


@blueprint.post("/create-camera/")
def create_camera():
    account = current_account(PRODUCT)
    camera = forms.camera_input(read_body(request))
    stored = service.upsert_camera(current_emulator().store, account.id, camera)
    return json_response(serializers.camera_echo(stored, camera))


@blueprint.post("/create-vehicle/")
def create_vehicle():
    account = current_account(PRODUCT)
    vehicle = forms.vehicle_input(read_body(request))
    stored = service.upsert_vehicle(current_emulator().store, account.id, vehicle)
    return json_response(serializers.vehicle_echo(stored, vehicle))


@blueprint.get("/parking-list/")
def parking_list():
    account = current_account(PRODUCT)
    parkings = service.parkings_with_cameras(current_emulator().store, account.id)
    return json_response(serializers.parking_list(parkings))


@blueprint.route("/visit-list/", methods=["GET", "POST"])
def visit_list():
    account = current_account(PRODUCT)
    emulator = current_emulator()
    start, end = request.args.get("start"), request.args.get("end")
    if request.method == "POST":
        body = read_body(request)
        start = body.text("start") if "start" in body.fields else start
        end = body.text("end") if "end" in body.fields else end
    start_us, end_us = visit_period(start, end, emulator.server_tz, now_us())
    rows = visits.visits_started_between(emulator.store, account.id, start_us, end_us)
    base = base_url(request, emulator.config.public_base_url)

    def media_url(name: str) -> str:
        return emulator.media.url(base, visits.MEDIA_KIND, name)

    return json_response([serializers.visit(row, media_url, emulator.server_tz) for row in rows])


@blueprint.post("/log-vehicle/")
def log_vehicle():
    account = current_account(PRODUCT)
    emulator = current_emulator()
    body = read_body(request)
    form_results = None if body.is_json else request.form.getlist("results")
    log = parse_vehicle_log(body, form_results, emulator.config.pixel_limit)
    visits.log_vehicle(emulator, account.id, log, now_us())
    return json_response("OK")
