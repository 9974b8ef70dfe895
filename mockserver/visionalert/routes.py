"""VisionAlert read and management API: HTTP only (parse, one service call, serialise).

Authentication comes first on every endpoint, then the license (404/403), then the
serial (404), then the query parameters (400): the order a DRF view checks them in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote

from flask import Blueprint, Response, g, request

from ..core import pagination, readcache
from ..core.bodies import read_body
from ..core.errors import ApiError
from ..core.urls import base_url
from ..core.web import current_account, current_emulator, json_response, now_us
from . import filters, management, service

blueprint = Blueprint("visionalert", __name__, url_prefix="/v1/vision-alert")

PRODUCT = "visionalert"
T = TypeVar("T")


def _param(name: str) -> str | None:
    """The last value of a query parameter, as Django's ``QueryDict.get`` returns it."""
    values = request.args.getlist(name)
    return values[-1] if values else None


def _base() -> str:
    return base_url(request, current_emulator().config.public_base_url)


def _request_url() -> str:
    """The absolute URL of this request, the base of ``next``/``previous``."""
    url = _base() + quote(request.path, safe="/:@!$&'()*+,;=-._~")
    query = request.query_string.decode("utf-8", "replace")
    return f"{url}?{query}" if query else url


def _parse(parse: Callable[[], T], check: Callable[[], object]) -> T:
    """Parse query parameters; when they are bad, tenancy errors still come first."""
    try:
        return parse()
    except ApiError:
        check()
        raise


def _paged(result: tuple[pagination.Page, list[dict]]) -> Response:
    page, results = result
    return json_response(pagination.envelope(page, _request_url(), results))


def _remembered(produce: Callable[[], Response]) -> Response:
    """A list reply, reused while nothing in the store changed (``core.readcache``)."""
    emulator = current_emulator()
    return readcache.remembered(
        (g.account.id, _base()),
        produce,
        emulator.config.read_cache,
        lambda: service.next_appearance(emulator, now_us()),
    )


@blueprint.get("/licenses/")
def list_licenses():
    account = current_account(PRODUCT)
    return _remembered(lambda: json_response(service.list_licenses(current_emulator(), account)))


@blueprint.get("/<license_id>/cameras/")
def list_cameras(license_id: str):
    account = current_account(PRODUCT)
    wanted, page = _parse(
        lambda: (filters.camera_filters(_param), pagination.page_request(_param)),
        lambda: service.check_license(current_emulator(), account, license_id),
    )
    return _remembered(
        lambda: _paged(
            service.list_cameras(current_emulator(), account, license_id, wanted, page, now_us())
        )
    )


@blueprint.get("/<license_id>/cameras/<serial>/logs/")
def list_camera_logs(license_id: str, serial: str):
    account = current_account(PRODUCT)
    tz = current_emulator().server_tz
    wanted, page = _parse(
        lambda: (filters.log_filters(_param, tz, by_camera=True), pagination.page_request(_param)),
        lambda: service.check_camera(current_emulator(), account, license_id, serial),
    )
    return _remembered(
        lambda: _paged(
            service.list_camera_logs(
                current_emulator(), account, license_id, serial, wanted, page, _base(), now_us()
            )
        )
    )


@blueprint.get("/<license_id>/logs/")
def list_license_logs(license_id: str):
    account = current_account(PRODUCT)
    tz = current_emulator().server_tz
    wanted, page = _parse(
        lambda: (filters.log_filters(_param, tz), pagination.page_request(_param)),
        lambda: service.check_license(current_emulator(), account, license_id),
    )
    return _remembered(
        lambda: _paged(
            service.list_license_logs(
                current_emulator(), account, license_id, wanted, page, _base(), now_us()
            )
        )
    )


@blueprint.get("/<license_id>/alerts/")
def list_alerts(license_id: str):
    account = current_account(PRODUCT)
    tz = current_emulator().server_tz
    wanted, page = _parse(
        lambda: (filters.alert_filters(_param, tz), pagination.page_request(_param)),
        lambda: service.check_license(current_emulator(), account, license_id),
    )
    return _remembered(
        lambda: _paged(
            service.list_alerts(current_emulator(), account, license_id, wanted, page, _base())
        )
    )


@blueprint.delete("/<license_id>/cameras/<serial>/")
def delete_camera(license_id: str, serial: str):
    account = current_account(PRODUCT)
    management.delete_camera(current_emulator(), account, license_id, serial)
    return Response(status=204)


@blueprint.get("/<license_id>/cameras/<serial>/reference/")
def get_reference(license_id: str, serial: str):
    account = current_account(PRODUCT)
    return json_response(
        management.reference_image(
            current_emulator(), account, license_id, serial, _base(), now_us()
        )
    )


@blueprint.post("/<license_id>/cameras/<serial>/reference/")
def set_reference(license_id: str, serial: str):
    account = current_account(PRODUCT)
    body = read_body(request)
    upload = body.files.get("upload")
    if upload is None:
        upload = body.text("upload")  # sent as a plain field: not a file
    return json_response(
        management.set_reference_image(
            current_emulator(), account, license_id, serial, upload, now_us()
        ),
        status=201,
    )
