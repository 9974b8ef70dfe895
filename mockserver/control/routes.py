"""Control-plane core: health, reset, seed, clock, settings.

Other modules of this package add their own routes to ``blueprint`` (faults, journal,
scenarios); the forms here are fixed by the product contract.
"""

from __future__ import annotations

import hmac
import math

from flask import Blueprint, request

from ..config import RUNTIME_SETTINGS
from ..core.bodies import read_body
from ..core.errors import ApiError, FieldErrors
from ..core.timefmt import iso_z, parse_instant
from ..core.web import emulator, json_response, now_us
from ..visionalert import processing
from .seeding import apply_seed, resolve_seed

blueprint = Blueprint("control", __name__, url_prefix="/_mock")


@blueprint.before_request
def _control_token() -> None:
    token = emulator().config.control_token
    if not token:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        raise ApiError(
            {"detail": "Control-plane token required."}, 401, {"WWW-Authenticate": "Bearer"}
        )


def _json_object() -> dict:
    body = read_body(request)
    if not body.is_json and request.get_data():
        raise ApiError({"detail": "Expected a JSON object."}, 400)
    return body.fields


@blueprint.get("/health")
def health():
    return json_response({"status": "ok"})


@blueprint.post("/reset")
def reset():
    option = request.args.get("seed", "demo")
    if option not in ("demo", "none"):
        raise FieldErrors({"seed": ["Must be 'demo' or 'none'."]})
    world = emulator()
    world.wipe()
    seed = resolve_seed(option)

    def work(conn):
        return apply_seed(conn, seed, world.clock.now_us(conn)) if seed else {"accounts": []}

    return json_response(world.store.transact(work))


@blueprint.post("/seed")
def seed():
    body = _json_object()
    world = emulator()
    result = world.store.transact(lambda conn: apply_seed(conn, body, world.clock.now_us(conn)))
    return json_response(result, 201)


def _clock_body():
    state = emulator().clock.state()
    return {"now": iso_z_precise(state.now_us), "frozen": state.frozen}


def iso_z_precise(instant_us: int) -> str:
    text = iso_z(instant_us)
    micros = instant_us % 1_000_000
    return text if micros == 0 else text[:-1] + f".{micros:06d}Z"


@blueprint.get("/clock")
def get_clock():
    return json_response(_clock_body())


@blueprint.post("/clock")
def post_clock():
    body = _json_object()
    world = emulator()
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
        world.store.transact(lambda conn: world.clock.freeze_at(conn, instant))
    elif "advance" in body:
        seconds = body["advance"]
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not (0 <= seconds <= 10 * 366 * 86400)
        ):
            raise FieldErrors({"advance": ["A number of seconds between 0 and ten years."]})
        _advance(world, seconds)
    else:
        if body["real"] is not True:
            raise FieldErrors({"real": ["Must be true."]})
        world.store.transact(world.clock.real)
    world.catch_up()
    world.wake_background()
    return json_response(_clock_body())


def _advance(world, seconds: float) -> None:
    """Move the clock, then run what fell due; each job sees its own due time as "now"."""
    target = world.store.transact(lambda conn: world.clock.advance(conn, seconds))
    world.duework.settle(target)  # also waits for due jobs another worker is running


@blueprint.get("/settings")
def get_settings():
    return json_response(emulator().settings())


@blueprint.post("/settings")
def post_settings():
    body = _json_object()
    unknown = [key for key in body if key not in RUNTIME_SETTINGS]
    if unknown:
        raise FieldErrors({key: ["Unknown setting."] for key in unknown})
    for key, value in body.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise FieldErrors({key: ["A number >= 0."]})
    world = emulator()

    def work(conn) -> None:
        world.set_settings(conn, body)
        processing.settings_changed(conn, world, body, now_us())

    world.store.transact(work)
    return json_response(world.settings())
