"""Control-plane core: health, reset, seed, clock, settings.

Faults, the journal, assertions and accounts are in ``plane_routes``, VisionAlert's
scenario controls in ``scenarios``. The control token is checked once, for every
``/_mock/`` path, by the control-plane guard (``control/chain.py``).
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from ..config import RUNTIME_SETTINGS, SETTING_CHOICES, SETTING_LIMITS
from ..core.bodies import read_json_object
from ..core.clock import wall_seconds
from ..core.duework import SETTLE_SECONDS
from ..core.errors import FieldErrors
from ..core.numbers import is_number, is_number_within
from ..core.timefmt import iso_z_precise, parse_instant
from ..core.web import current_emulator, json_response
from .seeding import apply_seed, resolve_seed

blueprint = Blueprint("control", __name__, url_prefix="/_mock")

#: ten years in seconds: the longest clock step, and the largest numeric setting
MAX_SETTING = 10 * 366 * 86400


@blueprint.get("/health")
def health():
    return json_response({"status": "ok"})


@blueprint.post("/reset")
def reset():
    option = request.args.get("seed", "demo")
    if option not in ("demo", "none"):
        raise FieldErrors({"seed": ["Must be 'demo' or 'none'."]})
    emulator = current_emulator()
    emulator.wipe()
    seed = resolve_seed(option)
    mutants = current_app.extensions["mockserver_mutants"]

    def work(conn):
        mutants.restore(conn)  # a reset world has the configured mutants again
        return (
            apply_seed(emulator.vendors, conn, seed, emulator.clock.now_us(conn))
            if seed
            else {"accounts": []}
        )

    return json_response(emulator.store.transact(work))


@blueprint.post("/seed")
def seed():
    body = read_json_object(request)
    emulator = current_emulator()
    result = emulator.store.transact(
        lambda conn: apply_seed(emulator.vendors, conn, body, emulator.clock.now_us(conn))
    )
    return json_response(result, 201)


def _clock_body():
    state = current_emulator().clock.state()
    return {"now": iso_z_precise(state.now_us), "frozen": state.frozen}


@blueprint.get("/clock")
def get_clock():
    return json_response(_clock_body())


@blueprint.post("/clock")
def post_clock():
    body = read_json_object(request)
    emulator = current_emulator()
    started = wall_seconds()  # one bound for the whole call's waiting, however it moves
    given = [key for key in ("set", "advance", "real") if key in body]
    if len(given) != 1:
        raise FieldErrors({"non_field_errors": ["Give exactly one of 'set', 'advance', 'real'."]})
    if "set" in body:
        try:
            instant = parse_instant(body["set"]) if isinstance(body["set"], str) else None
        except ValueError:
            instant = None
        if instant is None:
            raise FieldErrors({"set": ["An ISO 8601 timestamp."]})
        emulator.store.transact(lambda conn: emulator.clock.freeze_at(conn, instant))
    elif "advance" in body:
        seconds = body["advance"]
        if not is_number(seconds) or not (0 <= seconds <= MAX_SETTING):
            raise FieldErrors({"advance": ["A number of seconds between 0 and ten years."]})
        emulator.advance(seconds)
    else:
        if body["real"] is not True:
            raise FieldErrors({"real": ["Must be true."]})
        emulator.store.transact(emulator.clock.real)
    now_us = emulator.catch_up(timeout=max(0.0, SETTLE_SECONDS - (wall_seconds() - started)))
    emulator.wake_background()
    return json_response({**_clock_body(), **_pending(emulator, now_us)})


def _pending(emulator, now_us: int) -> dict:
    """Due work a clock move did not see applied within its bound (``duework.SETTLE_SECONDS``):
    held by another worker, or failed and waiting for its next try. Absent when none."""
    left = emulator.duework.still_due(now_us)
    for job in left:
        job["due"] = iso_z_precise(job.pop("due_us"))
    return {"pending": left} if left else {}


@blueprint.get("/settings")
def get_settings():
    return json_response(current_emulator().settings())


@blueprint.post("/settings")
def post_settings():
    body = read_json_object(request)
    unknown = [key for key in body if key not in RUNTIME_SETTINGS]
    if unknown:
        raise FieldErrors({key: ["Unknown setting."] for key in unknown})
    for key, value in body.items():
        if key in SETTING_CHOICES:
            if value not in SETTING_CHOICES[key]:
                raise FieldErrors({key: [f"One of {', '.join(SETTING_CHOICES[key])}."]})
        elif not is_number_within(value, 0, limit := SETTING_LIMITS.get(key, MAX_SETTING)):
            raise FieldErrors({key: [f"A number from 0 to {limit}."]})
    emulator = current_emulator()
    emulator.store.transact(lambda conn: emulator.set_settings(conn, body))
    return json_response(emulator.settings())
