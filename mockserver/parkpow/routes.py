"""ParkPow HTTP layer: parse and validate at the edge, one service call, serialise.

Every path answers with and without its trailing slash (the app's URL map is not strict).
"""

from __future__ import annotations

from flask import Blueprint, request

from ..core.bodies import read_body
from ..core.urls import base_url
from ..core.web import current_account, current_emulator, json_response, now_us
from . import forms, live_serializers, live_visits, serializers, service, visits
from .paging import envelope, page_number_from
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
    """The documented bare array, or the live page envelope (``live_visits``)."""
    account = current_account(PRODUCT)
    emulator = current_emulator()
    params = {name: request.args.get(name) for name in request.args}
    if request.method == "POST":
        body = read_body(request)
        params.update({name: body.text(name) for name in body.fields if name not in params})
    now = now_us()
    start_us, end_us = visit_period(params.get("start"), params.get("end"), emulator.server_tz, now)
    base = base_url(request, emulator.config.public_base_url)

    def media_url(name: str) -> str:
        return emulator.media.url(base, visits.MEDIA_KIND, name)

    def render(row) -> dict:
        return serializers.visit(row, media_url, emulator.server_tz)

    if not live_visits.wants_live_form(emulator.settings()["visit_list_form"], params):
        rows = visits.visits_started_between(emulator.store, account.id, start_us, end_us, now)
        return json_response([render(row) for row in rows])
    chosen = live_visits.visit_filter(
        start_us, end_us, params.get("plate"), params.get("camera"), params.get("ordering")
    )
    page = page_number_from(params.get("page"), params.get("page_size"))
    numbered = live_visits.visit_page(emulator.store, account.id, chosen, page, now)
    query = request.query_string.decode("latin-1")
    url = f"{base}{request.path}" + (f"?{query}" if query else "")
    return json_response(
        envelope(numbered, url, lambda row: {**render(row), **live_serializers.list_extras(row)})
    )


@blueprint.post("/log-vehicle/")
def log_vehicle():
    account = current_account(PRODUCT)
    emulator = current_emulator()
    body = read_body(request)
    form_results = None if body.is_json else request.form.getlist("results")
    log = parse_vehicle_log(body, form_results, emulator.config.pixel_limit)
    visits.log_vehicle(emulator, account.id, log, now_us())
    return json_response("OK")
