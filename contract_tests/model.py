"""A model of the world the suite made: what it did, when, and what every read must return.

The suite records each write it makes (an upload with its camera, tag and the server's
instant; a ParkPow sighting) and the rules predict the replies: whether an upload is
accepted and what ``Retry-After`` then says, which logs a filtered list holds and in
which order, when a log becomes visible, what a visit looks like. The instant of a write
is the server's clock, read through ``/_mock/clock`` (the suite moves it, so every
instant is exact). A reply that differs from the prediction fails naming the rule, the
prediction and the reply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

SEED_WINDOW = 900.0  # seconds: "1 request every 15 minutes for each camera"
TOO_SOON = "Camera already uploaded a log recently."


class Mismatch(AssertionError):
    """A reply that is not what the rule predicts."""

    def __init__(self, rule: str, asked: str, predicted: object, got: object) -> None:
        super().__init__(f"rule {rule}: {asked}\n  predicted: {predicted!r}\n  got:       {got!r}")


def expect(rule: str, asked: str, predicted: object, got: object) -> None:
    if predicted != got:
        raise Mismatch(rule, asked, predicted, got)


@dataclass
class Log:
    """A log the suite caused: its camera, its instant, and (once read) its id and status."""

    serial: str
    created: datetime
    id: int | None = None
    status: str | None = None


@dataclass
class Camera:
    serial: str
    tags: list[str] = field(default_factory=list)
    last_accepted: datetime | None = None


@dataclass
class VisionAlertModel:
    """The cameras and logs of the suite's own uploads, and the rules over them."""

    zone: tzinfo
    window: float = SEED_WINDOW
    cameras: dict[str, Camera] = field(default_factory=dict)
    logs: list[Log] = field(default_factory=list)

    # -- uploads ----------------------------------------------------------------------------

    def predict_upload(self, serial: str, at: datetime) -> tuple[int, int | None]:
        """(status, Retry-After) of an upload of ``serial`` at ``at`` (camera window)."""
        camera = self.cameras.get(serial)
        if camera is None or camera.last_accepted is None:
            return 200, None
        elapsed = (at - camera.last_accepted).total_seconds()
        if elapsed >= self.window:
            return 200, None
        return 429, max(1, math.ceil(self.window - elapsed))

    def accepted(self, serial: str, at: datetime, tag: str | None) -> None:
        camera = self.cameras.setdefault(serial, Camera(serial))
        camera.last_accepted = at
        if tag and tag not in camera.tags:
            camera.tags.append(tag)
        self.logs.append(Log(serial, at))

    # -- reads ------------------------------------------------------------------------------

    def visible(self, now: datetime, delay: float) -> list[Log]:
        """The logs processed by ``now``: each appears ``delay`` seconds after its upload."""
        return [log for log in self.logs if log.created + timedelta(seconds=delay) <= now]

    def select(self, rows: list[Log], query: dict[str, str], serial: str | None = None):
        """The rows a log list holds under ``query`` (and a camera's path serial), in the
        documented order: newest ``created`` first, ties by id, newest first."""
        start, end = query.get("start"), query.get("end")
        chosen = []
        for log in rows:
            camera = self.cameras[log.serial]
            if serial is not None and log.serial != serial:
                continue
            if "serial" in query and log.serial != query["serial"]:
                continue
            if "tag" in query and query["tag"] not in camera.tags:
                continue
            if "status" in query and log.status != query["status"]:
                continue
            if start is not None and log.created < self.bound(start, end=False):
                continue
            if end is not None and log.created > self.bound(end, end=True):
                continue
            chosen.append(log)
        return sorted(chosen, key=lambda log: (log.created, log.id or 0), reverse=True)

    def bound(self, text: str, end: bool) -> datetime:
        """The seed's Date Filtering table: a date is its whole day (``end``: up to
        23:59:59 of it), a timestamp exact, a naive one in the server timezone."""
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = time(23, 59, 59, 999_999) if end else time(0, 0)
            return datetime.combine(day, moment, self.zone)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=self.zone)


def alerts(turns: list[tuple[datetime, str]], window: float) -> list[tuple[str, list[str]]]:
    """The alerts a license's turning cameras make, newest first, as (created, serials):
    the first turn opens one, every turn before ``opened + window`` joins it, and it is
    emitted (``created``) at ``opened + window``."""
    made: list[tuple[datetime, list[str]]] = []
    for at, serial in sorted(turns):
        if made and at < made[-1][0]:
            made[-1][1].append(serial)
        else:
            made.append((at + timedelta(seconds=window), [serial]))
    return [(zulu(created), sorted(serials)) for created, serials in reversed(made)]


# -- ParkPow --------------------------------------------------------------------------------


def parkpow_date(instant: datetime, zone: tzinfo) -> str:
    """ParkPow's date form: naive, in the server timezone, six microsecond digits."""
    return instant.astimezone(zone).replace(tzinfo=None).isoformat(timespec="microseconds")


def visit_duration(start: datetime, end: datetime) -> float:
    """The emulator's duration: minutes, two decimals."""
    return round((end - start).total_seconds() / 60, 2)


def zulu(instant: datetime) -> str:
    """VisionAlert's timestamp form: UTC to the second, with Z."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def naive(instant: datetime, zone: tzinfo) -> str:
    return instant.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds")


def zoned(instant: datetime, offset_hours: int) -> str:
    """The same instant written with another UTC offset (``+02:00``)."""
    from datetime import timezone

    return instant.astimezone(timezone(timedelta(hours=offset_hours))).isoformat(timespec="seconds")
