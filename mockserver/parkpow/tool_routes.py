"""ParkPow endpoints beyond the published document: what the vendor's own tools call.

HTTP only (parse at the edge, one service call, serialise); each endpoint's source is listed
in the README section "Beyond the published documentation". Every path answers with and
without its trailing slash, as the documented ones do.
"""

from __future__ import annotations

from flask import Blueprint, request

from ..core import web
from ..core.bodies import read_body
from ..core.emulator import Emulator
from ..core.errors import REQUIRED, FieldErrors
from ..core.numbers import field_id
from ..core.urls import base_url
from . import alerts, imports, live_serializers, live_visits, vehicles, visits, webhook_receiver
from .paging import envelope, page_number_from
from .webhook_payload import parse_webhook

blueprint = Blueprint("parkpow_tools", __name__, url_prefix="/api/v1")

PRODUCT = "parkpow"


def media_url_maker(emulator: Emulator):
    """``name -> absolute URL`` of a ParkPow image, for this request's host."""
    base = base_url(request, emulator.config.public_base_url)
    return lambda name: emulator.media.url(base, visits.MEDIA_KIND, name)


@blueprint.post("/webhook-receiver/")
def webhook_receiver_post():
    account = web.current_account(PRODUCT)
    emulator = web.current_emulator()
    webhook = parse_webhook(read_body(request), emulator.config.pixel_limit)
    now = web.now_us()
    answers = webhook_receiver.receive(emulator, account, webhook, now)
    rows = webhook_receiver.visit_rows(emulator, account, answers, now)
    media_url = media_url_maker(emulator)
    reply = []
    for answer in answers:
        row = rows.get(answer.visit_id) if answer.visit_id is not None else None
        if row is None:
            reply.append({"status": answer.status, "plate": answer.plate, "score": answer.score})
        else:
            reply.append(live_serializers.visit(row, media_url, emulator.server_tz, answer.status))
    return web.json_response(reply)


@blueprint.post("/delete-visit/")
def delete_visit():
    account = web.current_account(PRODUCT)
    emulator = web.current_emulator()
    visit_id = _whole_field(read_body(request).fields, "id")
    live_visits.delete_visit(emulator, account, visit_id)
    return web.json_response({"status": "deleted", "id": visit_id})


def _whole_field(fields: dict, name: str) -> int:
    """DRF's IntegerField: a JSON number or its text, whole and positive; an id no store
    can hold is looked up as one that names nothing (``numbers.lookup_id``)."""
    value = fields.get(name)
    if value is None:
        raise FieldErrors({name: [REQUIRED]})
    number = field_id(value)
    if number is None:
        raise FieldErrors({name: ["A valid integer is required."]})
    return number


def _page():
    return page_number_from(request.args.get("page"), request.args.get("page_size"))


@blueprint.get("/vehicles/")
def vehicle_list():
    account = web.current_account(PRODUCT)
    emulator = web.current_emulator()
    page = vehicles.vehicle_page(emulator, account, request.args.get("tags"), _page())
    return web.json_response(envelope(page, _request_url(emulator), vehicles.vehicle_item))


@blueprint.get("/vehicle-tags/")
def vehicle_tags():
    account = web.current_account(PRODUCT)
    emulator = web.current_emulator()
    page = vehicles.tag_page(emulator, account, _page())
    return web.json_response(envelope(page, _request_url(emulator), vehicles.tag_item))


def _request_url(emulator: Emulator) -> str:
    """The request's absolute URL on the reply's host (links in page envelopes)."""
    base = base_url(request, emulator.config.public_base_url)
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


@blueprint.post("/edit-tags/")
def edit_tags():
    account = web.current_account(PRODUCT)
    emulator = web.current_emulator()
    names = ("checked", "tag_id", "vehicle_id")
    body = read_body(request) if request.get_data() else None
    params = {
        name: request.args.get(name, body.text(name) if body is not None else None)
        for name in names
    }
    edit = vehicles.tag_edit(params)
    vehicles.edit_tags(emulator, account, edit)
    return web.json_response(
        {"checked": edit.checked, "tag_id": edit.tag_id, "vehicle_id": edit.vehicle_id}
    )


@blueprint.post("/import-vehicles/")
def import_vehicles():
    account = web.current_account(PRODUCT)
    emulator = web.current_emulator()
    body = read_body(request)
    task_id = imports.start_import(
        emulator, account, imports.import_request(body.files, body.fields), web.now_us()
    )
    return web.json_response({"task_id": task_id})


@blueprint.get("/task-check/")
def task_check():
    account = web.current_account(PRODUCT)
    emulator = web.current_emulator()
    return web.json_response(imports.task_state(emulator, account, request.args.get("task_id")))


@blueprint.post("/trigger-alert/")
def trigger_alert():
    account = web.current_account(PRODUCT)
    emulator = web.current_emulator()
    wanted = alerts.alert_request(read_body(request).fields)
    alert_id = alerts.trigger(emulator.store, account.id, wanted, web.now_us())
    return web.json_response({"alert_id": alert_id})
