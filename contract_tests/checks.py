"""Contract checks the OpenAPI document cannot state, each one a sentence of the seeds.

They run with Schemathesis' own checks on every response (``additional_checks``). A check
returns ``NOT_APPLICABLE`` (True: Schemathesis records no result) when the response gives
it nothing to check, and None when it checked and the response held, so the fidelity
report counts only the responses a check really looked at.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from .rules import LEDGER

THROTTLE_TEXT = re.compile(r"Expected available in (\d+) seconds?\.")
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PAGED = {"listCameras", "listCameraLogs", "listLicenseLogs", "listAlerts"}
#: the timezone naive timestamps are read in (set from --server-timezone)
SERVER_TIMEZONE = {"name": "UTC"}
#: a check's "nothing to check here" (Schemathesis then records neither pass nor fail)
NOT_APPLICABLE = True


def _operation_id(case) -> str:
    return case.operation.definition.raw.get("operationId", "")


def _json(response):
    try:
        return response.json()
    except Exception:
        return None


def retry_after_agrees(ctx, response, case) -> bool | None:
    """429: ``Retry-After`` is whole seconds and says the same wait as the DRF message."""
    if response.status_code != 429:
        return NOT_APPLICABLE
    values = response.headers.get("retry-after") or response.headers.get("Retry-After") or []
    value = values[0] if isinstance(values, list) and values else values
    assert isinstance(value, str) and value.isdigit(), (
        f"429 without a whole-second Retry-After: {value!r}"
    )
    body = _json(response)
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        match = THROTTLE_TEXT.search(detail)
        if match:
            LEDGER.exercise("upload.account_throttle", "retry_after_agrees")
            assert int(value) == int(match.group(1)), (
                f"Retry-After {value} disagrees with the message {detail!r}"
            )
    return None


def _query(case) -> dict[str, str]:
    """The query as sent; an empty value filters nothing (django-filter ignores it)."""
    return {
        key: str(value)
        for key, value in (case.query or {}).items()
        if value is not None and str(value) != ""
    }


def page_size_honoured(ctx, response, case) -> bool | None:
    """Pages hold at most ``page_size`` items (default 50, max 200)."""
    if _operation_id(case) not in PAGED or response.status_code != 200:
        return NOT_APPLICABLE
    body = _json(response)
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return NOT_APPLICABLE
    raw = _query(case).get("page_size")
    limit = 50
    if raw is not None and raw.isdigit() and int(raw) > 0:
        limit = min(int(raw), 200)
    elif raw is not None:
        limit = 200  # an invalid value: the seed does not say; a server may fall back or clamp
    count = len(body["results"])
    LEDGER.exercise("page.size", "page_size_honoured")
    LEDGER.exercise("page.envelope", "page_size_honoured")
    assert count <= limit, f"page_size={raw!r}: {count} results on one page (at most {limit})"
    return None


def _instant(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _bound(text: str, end: bool) -> datetime | None:
    """The seed's Date Filtering table: a date is the whole day; a naive time the server's zone."""
    zone = ZoneInfo(SERVER_TIMEZONE["name"]) if SERVER_TIMEZONE["name"] != "UTC" else UTC
    try:
        if DATE_ONLY.match(text):
            day = datetime.fromisoformat(text).date()
            moment = datetime.combine(day, time(23, 59, 59) if end else time(0, 0), zone)
            return moment
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def filters_honoured(ctx, response, case) -> bool | None:
    """Every item of a filtered list matches the filter, newest first by ``created``."""
    operation = _operation_id(case)
    if operation not in PAGED or response.status_code != 200:
        return NOT_APPLICABLE
    body = _json(response)
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return NOT_APPLICABLE
    results = [item for item in body["results"] if isinstance(item, dict)]
    query = _query(case)
    start = _bound(query["start"], end=False) if "start" in query else None
    end = _bound(query["end"], end=True) if "end" in query else None
    if end is not None and DATE_ONLY.match(query["end"]):
        end = end + timedelta(microseconds=999_999)
    created = [_instant(item.get("created", "")) for item in results]
    for name in ("start", "end"):
        if name in query:
            form = "date" if DATE_ONLY.match(query[name]) else "timestamp"
            LEDGER.exercise(f"dates.{name}_{form}", "filters_honoured")
    if query.get("status") and operation == "listCameras":
        LEDGER.exercise("filter.status", "filters_honoured")
    LEDGER.exercise("page.order", "filters_honoured")
    for item, moment in zip(results, created, strict=True):
        if moment is None:
            continue
        if start is not None:
            assert moment >= start, (
                f"start={query['start']}: item {item.get('id')} created {item.get('created')}"
            )
        if end is not None:
            assert moment <= end, (
                f"end={query['end']}: item {item.get('id')} created {item.get('created')}"
            )
    status = query.get("status")
    if status and operation == "listCameras":
        for item in results:
            latest = item.get("latest_status")
            assert latest == status or (status == "no_data" and latest is None), (
                f"status={status}: camera {item.get('serial')} has latest_status {latest!r}"
            )
    elif status and operation in ("listCameraLogs", "listLicenseLogs"):
        for item in results:
            assert item.get("status") == status, (
                f"status={status}: log {item.get('id')} is {item.get('status')!r}"
            )
    serial = query.get("serial")
    if serial is not None and operation == "listLicenseLogs":
        for item in results:
            assert item.get("camera_serial") == serial, (
                f"serial={serial}: log of {item.get('camera_serial')!r}"
            )
    path_serial = (case.path_parameters or {}).get("serial")
    if operation == "listCameraLogs" and path_serial is not None:
        for item in results:
            assert item.get("camera_serial") == str(path_serial), (
                f"logs of {path_serial!r} include one of {item.get('camera_serial')!r}"
            )
    if operation == "listAlerts":
        sent = query.get("sent")
        if sent in ("true", "false", "True", "False"):
            for item in results:
                assert item.get("sent") is (sent.lower() == "true"), (
                    f"sent={sent}: alert {item.get('id')}"
                )
        if query.get("license") is not None:
            for item in results:
                assert item.get("license") == query["license"], (
                    f"license={query['license']}: alert of {item.get('license')!r}"
                )
    known = [moment for moment in created if moment is not None]
    assert all(a >= b for a, b in zip(known, known[1:], strict=False)), (
        "results are not newest first"
    )
    return None


def next_link_conforms(ctx, response, case) -> bool | None:
    """``next``/``previous`` point back at the same endpoint and keep the filters."""
    if _operation_id(case) not in PAGED or response.status_code != 200:
        return NOT_APPLICABLE
    body = _json(response)
    if not isinstance(body, dict):
        return NOT_APPLICABLE
    for key in ("next", "previous"):
        link = body.get(key)
        if not isinstance(link, str):
            continue
        parts = urlsplit(link)
        assert parts.scheme in ("http", "https") and parts.netloc, f"{key} is not absolute: {link}"
        sent_path = urlsplit(response.request.url).path
        assert parts.path.rstrip("/") == sent_path.rstrip("/"), f"{key} leaves the endpoint: {link}"
        kept = parse_qs(parts.query, keep_blank_values=True)
        assert "cursor" in kept, f"{key} carries no cursor: {link}"
        for name in ("status", "serial", "tag", "start", "end", "sent", "license"):
            if name in _query(case):
                assert name in kept, f"{key} drops the {name} filter: {link}"
    return None


#: ParkPow's page-numbered lists (the live service's DRF PageNumberPagination)
NUMBERED = {"visitList", "visitListPost", "listVehicles", "listVehicleTags"}


def numbered_page_conforms(ctx, response, case) -> bool | None:
    """A live page: ``next`` carries ``page=N+1`` and keeps the filters; no more than
    ``page_size`` (default 100) items; ``plate`` filters by containment, any case."""
    if _operation_id(case) not in NUMBERED or response.status_code != 200:
        return None
    body = _json(response)
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return None  # the documented bare array
    query = _query(case)
    raw = query.get("page_size", "")
    limit = min(int(raw), 1000) if raw.isascii() and raw.isdigit() and int(raw) > 0 else 100
    assert len(body["results"]) <= limit, f"page_size={raw!r}: {len(body['results'])} items"
    link = body.get("next")
    if isinstance(link, str):
        LEDGER.exercise("pp.live_paging", "numbered_page_conforms")
        kept = parse_qs(urlsplit(link).query, keep_blank_values=True)
        page = query.get("page", "1")
        if page.isascii() and page.isdigit():
            assert kept.get("page") == [str(int(page) + 1)], f"next is not the next page: {link}"
        for name in ("start", "end", "plate", "camera", "ordering", "tags"):
            if name in query:
                assert name in kept, f"next drops the {name} filter: {link}"
    plate = query.get("plate", "").strip()
    if plate and _operation_id(case).startswith("visitList"):
        for item in body["results"]:
            shown = (item.get("vehicle") or {}).get("license_plate", "")
            assert plate.upper() in shown.upper(), f"plate={plate!r}: visit of {shown!r}"
    return True


ALL = [
    retry_after_agrees,
    page_size_honoured,
    filters_honoured,
    next_link_conforms,
    numbered_page_conforms,
]
