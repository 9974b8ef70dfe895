"""The read API's query parameters, parsed and validated at the edge.

Texts and rules follow what the vendor's DRF/django-filter stack answers: a blank value
means "no filter", an unknown choice is ``Select a valid choice. X is not one of the
available choices.``, every invalid field is reported in one 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo

from ..core.dates import CreatedRange, parse_bound
from ..core.errors import FieldErrors

#: The seed's "Camera / Log Status" enum
STATUSES = (
    "normal",
    "anomaly",
    "under_review",
    "offline",
    "config_issue",
    "no_data",
    "pending_retry",
)
INVALID_CHOICE = "Select a valid choice. {value} is not one of the available choices."
#: ``sent`` takes django-filter BooleanWidget's spellings, case-insensitive
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
INVALID_BOOLEAN = "Must be a valid boolean."

Params = Callable[[str], str | None]


@dataclass(frozen=True)
class CameraFilters:
    status: str | None = None


@dataclass(frozen=True)
class LogFilters:
    created: CreatedRange = CreatedRange()
    status: str | None = None
    serial: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class AlertFilters:
    created: CreatedRange = CreatedRange()
    license_code: str | None = None
    sent: bool | None = None


class _Collector:
    """Gathers every field error of one request before failing."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.errors: dict[str, list[str]] = {}

    def text(self, name: str) -> str | None:
        value = self.params(name)
        return value if value else None

    def status(self) -> str | None:
        value = self.text("status")
        if value is not None and value not in STATUSES:
            self.errors["status"] = [INVALID_CHOICE.format(value=value)]
            return None
        return value

    def bound(self, name: str, tz: tzinfo, end: bool) -> int | None:
        try:
            return parse_bound(name, self.params(name), tz, end=end)
        except FieldErrors as exc:
            self.errors.update(exc.body)
            return None

    def created(self, tz: tzinfo) -> CreatedRange:
        return CreatedRange(self.bound("start", tz, False), self.bound("end", tz, True))

    def boolean(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return None
        if value.strip().lower() not in BOOLEANS:
            self.errors[name] = [INVALID_BOOLEAN]
            return None
        return BOOLEANS[value.strip().lower()]

    def done(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


def camera_filters(params: Params) -> CameraFilters:
    check = _Collector(params)
    result = CameraFilters(status=check.status())
    check.done()
    return result


def log_filters(params: Params, tz: tzinfo, *, by_camera: bool = False) -> LogFilters:
    """``start``, ``end``, ``status``; on license logs also ``serial`` and ``tag``."""
    check = _Collector(params)
    created = check.created(tz)
    status = check.status()
    serial = None if by_camera else check.text("serial")
    tag = None if by_camera else check.text("tag")
    check.done()
    return LogFilters(created=created, status=status, serial=serial, tag=tag)


def alert_filters(params: Params, tz: tzinfo) -> AlertFilters:
    check = _Collector(params)
    created = check.created(tz)
    code = check.text("license")
    sent = check.boolean("sent")
    check.done()
    return AlertFilters(created=created, license_code=code, sent=sent)
