"""webhook-receiver: a Stream/Snapshot webhook feeds the same visit lifecycle as log-vehicle.

Each plate read is a sighting at the payload's ``timestamp`` by the camera named by
``camera_id`` (an unknown code registers a SPOT camera, as log-vehicle does). The reply lists,
in the order of the results, what each read did: the visit it opened, kept alive or closed
(the live visit object, with ``id`` and ``status``), or, without an ``id``, why it did
nothing: a read below the ``webhook_min_score`` setting (the text says the plate "requires
higher scores", which the vendor's middleware looks for), a vehicle whose plate was not read,
an exit with no open visit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Row

from ..core.auth import Account
from . import visits
from .sightings import VehicleLog
from .webhook_payload import Webhook

LOW_SCORE = "Ignored - Plate requires higher scores"
NO_PLATE = "Ignored - No license plate read"


@dataclass(frozen=True)
class Answer:
    """What one result of the webhook did (``visit_id`` None: nothing)."""

    status: str
    visit_id: int | None = None
    plate: str | None = None
    score: float | None = None


def receive(emulator, account: Account, webhook: Webhook, now_us: int) -> list[Answer]:
    """Apply every read that counts, in one unit of work; answer every result in order."""
    if not webhook.reads_plates or not webhook.reads:
        return []
    min_score = float(emulator.settings()["webhook_min_score"])
    answers: list[Answer | None] = []
    sightings = []
    for read in webhook.reads:
        if read.sighting is None:
            answers.append(Answer(NO_PLATE, score=read.score))
        elif read.score is not None and read.score < min_score:
            answers.append(Answer(LOW_SCORE, plate=read.plate, score=read.score))
        else:
            answers.append(None)  # filled from the visit lifecycle below
            sightings.append(read.sighting)
    outcomes = iter([])
    if sightings:
        log = VehicleLog(
            webhook.camera,  # type: ignore[arg-type]  (a read event always names one)
            webhook.image,
            webhook.image_info,
            webhook.time_us,
            tuple(sightings),
        )
        outcomes = iter(visits.log_vehicle(emulator, account, log, now_us))
    filled = []
    for answer, read in zip(answers, webhook.reads, strict=True):
        if answer is None:
            outcome = next(outcomes)
            answer = Answer(outcome.status, outcome.visit_id, read.plate, read.score)
        filled.append(answer)
    return filled


def visit_rows(emulator, account: Account, answers: list[Answer], now_us: int) -> dict[int, Row]:
    """The state at ``now_us`` of every visit the answers name, by id (one query)."""
    ids = {answer.visit_id for answer in answers if answer.visit_id is not None}
    if not ids:
        return {}
    query = visits.visit_query(account.id, now_us).where(visits.VC.id.in_(ids))
    return {row.id: row for row in emulator.store.query(lambda conn: conn.execute(query).all())}
