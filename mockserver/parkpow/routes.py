"""ParkPow HTTP layer: parse and validate at the edge, one service call, serialise.

Every path answers with and without its trailing slash (the app's URL map is not strict).
"""

from __future__ import annotations

from flask import Blueprint, request

from ..core.bodies import read_body
from ..core.urls import base_url
from ..core.web import current_account, current_emulator, json_response, now_us
from . import forms, live_serializers, live_visits, serializers, service, visits
from .sightings import parse_vehicle_log

blueprint = Blueprint("parkpow", __name__, url_prefix="/api/v1")

PRODUCT = "parkpow"


@blueprint.post("/create-camera/")
def create_camera():
    account = current_account(PRODUCT)
    camera = forms.camera_input(read_body(request))
    stored = service.upsert_camera(current_emulator(), account, camera)
    return json_response(serializers.camera_echo(stored, camera))


@blueprint.post("/create-vehicle/")
def create_vehicle():
    account = current_account(PRODUCT)
    vehicle = forms.vehicle_input(read_body(request))
    stored = service.upsert_vehicle(current_emulator(), account, vehicle)
    return json_response(serializers.vehicle_echo(stored, vehicle))


@blueprint.get("/parking-list/")
def parking_list():
    account = current_account(PRODUCT)
    parkings = service.parkings_with_cameras(current_emulator(), account)
    return json_response(serializers.parking_list(parkings))


@blueprint.route("/visit-list/", methods=["GET", "POST"])
def visit_list():
    """The documented bare array, or the live page envelope (``live_visits``)."""
    account = current_account(PRODUCT)
    emulator = current_emulator()
    listing = live_visits.visit_list(emulator, account, _visit_list_parameters(), now_us())
    base = base_url(request, emulator.config.public_base_url)
    query = request.query_string.decode("latin-1")
    url = f"{base}{request.path}" + (f"?{query}" if query else "")

    def media_url(name: str) -> str:
        return emulator.media.url(base, visits.MEDIA_KIND, name)

    return json_response(
        live_serializers.visit_listing(listing, media_url, emulator.server_tz, url)
    )


def _visit_list_parameters() -> dict[str, str | None]:
    """The query string's parameters, and a POSTed form's fields it does not name."""
    parameters = {name: request.args.get(name) for name in request.args}
    if request.method == "POST":
        body = read_body(request)
        parameters.update({name: body.text(name) for name in body.fields if name not in parameters})
    return parameters


@blueprint.post("/log-vehicle/")
def log_vehicle():
    account = current_account(PRODUCT)
    emulator = current_emulator()
    body = read_body(request)
    form_results = None if body.is_json else request.form.getlist("results")
    log = parse_vehicle_log(body, form_results, emulator.config.pixel_limit)
    visits.log_vehicle(emulator, account, log, now_us())
    return json_response("OK")
