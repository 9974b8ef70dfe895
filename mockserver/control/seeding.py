"""The seed format of ``POST /_mock/seed`` (and ``--seed``): accounts with their data.

A seed is applied in one transaction: either all of it, or (on any error) nothing.
A token that already exists is rejected (409), never merged: re-running a seed script
against a live emulator fails loudly instead of silently doubling its data.
"""

from __future__ import annotations

import json
import os
from importlib import resources

from sqlalchemy import Connection, select

from ..core import schema
from ..core.auth import PRODUCTS
from ..core.errors import ApiError, FieldErrors
from ..core.timefmt import parse_instant
from ..visionalert import camera_tags

CAMERA_TYPES = ("ENTRANCE", "EXIT", "SPOT")


class SeedConflict(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__({"detail": message}, 409)


def demo_seed() -> dict:
    text = resources.files("mockserver").joinpath("data/demo_seed.json").read_text()
    return json.loads(text)


def resolve_seed(option: str) -> dict | None:
    """``demo`` | ``none`` | a path to a seed JSON file."""
    if option in ("", "none"):
        return None
    if option == "demo":
        return demo_seed()
    with open(os.path.expanduser(option), encoding="utf-8") as handle:
        return json.load(handle)


def load_initial_seed(world) -> dict | None:
    """Seed a fresh store once (the first worker to get here); a used store is left alone."""
    seed = resolve_seed(world.config.seed)

    def work(conn: Connection):
        done = conn.execute(select(schema.meta).where(schema.meta.c.key == "initialized")).first()
        if done is not None:
            return None
        conn.execute(schema.meta.insert().values(key="initialized", value="1"))
        if seed is None:
            return None
        return apply_seed(conn, seed, world.clock.now_us(conn))

    return world.store.transact(work)


def apply_seed(conn: Connection, seed: object, now_us: int) -> dict:
    now_us -= now_us % 1_000_000  # stored as replies show it: whole seconds
    accounts = _list(seed, "accounts", required=True) if isinstance(seed, dict) else None
    if accounts is None:
        raise FieldErrors({"accounts": ["This field is required."]})
    result = []
    for index, account in enumerate(accounts):
        result.append(_account(conn, account, f"accounts[{index}]", now_us))
    return {"accounts": result}


def _account(conn: Connection, spec: object, where: str, now_us: int) -> dict:
    if not isinstance(spec, dict):
        raise FieldErrors({where: ["Expected an object."]})
    tokens = spec.get("tokens") or ([spec["token"]] if "token" in spec else [])
    if not tokens or not all(
        isinstance(t, str) and 0 < len(t) <= 200 and t.strip() == t and " " not in t for t in tokens
    ):
        raise FieldErrors({f"{where}.token": ["A non-empty token without spaces is required."]})
    products = spec.get("products", list(PRODUCTS))
    if not isinstance(products, list) or any(p not in PRODUCTS for p in products):
        raise FieldErrors({f"{where}.products": [f"Each product must be one of {list(PRODUCTS)}."]})
    rate = spec.get("rate_limit_per_second", 1)
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0
    ):
        raise FieldErrors({f"{where}.rate_limit_per_second": ["A positive number or null."]})
    for token in tokens:
        exists = conn.execute(select(schema.tokens).where(schema.tokens.c.token == token)).first()
        if exists is not None:
            raise SeedConflict(f"Token '{token}' already exists; reset first or use another token.")
    account_id = conn.execute(
        schema.accounts.insert().values(
            products=json.dumps(sorted(set(products))),
            rate_limit_per_second=rate,
            created_us=now_us,
        )
    ).inserted_primary_key[0]
    for token in tokens:
        conn.execute(schema.tokens.insert().values(token=token, account_id=account_id))
    licenses = []
    va = spec.get("visionalert") or {}
    if not isinstance(va, dict):
        raise FieldErrors({f"{where}.visionalert": ["Expected an object."]})
    for i, lic in enumerate(_list(va, "licenses", where=f"{where}.visionalert")):
        licenses.append(
            _license(conn, account_id, lic, f"{where}.visionalert.licenses[{i}]", now_us)
        )
    pp = spec.get("parkpow") or {}
    if not isinstance(pp, dict):
        raise FieldErrors({f"{where}.parkpow": ["Expected an object."]})
    for i, parking in enumerate(_list(pp, "parkings", where=f"{where}.parkpow")):
        _parking(conn, account_id, parking, f"{where}.parkpow.parkings[{i}]")
    for i, vehicle in enumerate(_list(pp, "vehicles", where=f"{where}.parkpow")):
        _vehicle(conn, account_id, vehicle, f"{where}.parkpow.vehicles[{i}]")
    return {"token": tokens[0], "licenses": licenses}


def _license(conn: Connection, account_id: int, spec: object, where: str, now_us: int) -> dict:
    if not isinstance(spec, dict):
        raise FieldErrors({where: ["Expected an object."]})
    code = _text(spec, "code", where, required=True)
    size = spec.get("size", 50)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise FieldErrors({f"{where}.size": ["A whole number >= 0."]})
    va_type = _text(spec, "va_type", where) or "meraki"
    try:
        expiration = parse_instant(spec.get("expiration") or "2099-12-31T00:00:00Z")
        created = parse_instant(spec["created"]) if spec.get("created") else now_us
    except (ValueError, TypeError):
        raise FieldErrors({f"{where}.expiration": ["An ISO 8601 timestamp."]}) from None
    webhook = spec.get("webhook_url")
    if webhook is not None and (
        not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))
    ):
        raise FieldErrors({f"{where}.webhook_url": ["An http(s) URL or null."]})
    email = spec.get("notify_email")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        raise FieldErrors({f"{where}.notify_email": ["An e-mail address or null."]})
    if conn.execute(select(schema.va_licenses).where(schema.va_licenses.c.code == code)).first():
        raise SeedConflict(f"License code '{code}' already exists.")
    license_id = conn.execute(
        schema.va_licenses.insert().values(
            account_id=account_id,
            code=code,
            size=size,
            va_type=va_type,
            expiration_us=expiration,
            webhook_url=webhook,
            notify_email=email,
            created_us=created,
            modified_us=created,
        )
    ).inserted_primary_key[0]
    for i, camera in enumerate(_list(spec, "cameras", where=where)):
        _va_camera(conn, account_id, license_id, camera, f"{where}.cameras[{i}]", now_us)
    return {"code": code, "id": license_id}


def _va_camera(conn, account_id, license_id, spec, where, now_us) -> None:
    if not isinstance(spec, dict):
        raise FieldErrors({where: ["Expected an object."]})
    serial = _text(spec, "serial", where, required=True)
    if len(serial) > 128 or "/" in serial or any(ord(ch) < 32 or ord(ch) == 127 for ch in serial):
        # the rule create-log applies: a serial is a URL path segment of the read API
        raise FieldErrors(
            {f"{where}.serial": ["At most 128 characters; no '/' or control characters."]}
        )
    name = _text(spec, "name", where) or serial
    notes = _text(spec, "notes", where) or ""
    tags = spec.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise FieldErrors({f"{where}.tags": ["A list of tag names."]})
    taken = conn.execute(
        select(schema.va_cameras.c.id).where(
            schema.va_cameras.c.account_id == account_id, schema.va_cameras.c.serial == serial
        )
    ).first()
    if taken:
        raise FieldErrors({f"{where}.serial": [f"Camera '{serial}' is listed twice."]})
    camera_id = conn.execute(
        schema.va_cameras.insert().values(
            license_id=license_id,
            account_id=account_id,
            serial=serial,
            name=name,
            notes=notes,
            created_us=now_us,
            modified_us=now_us,
        )
    ).inserted_primary_key[0]
    for tag in dict.fromkeys(tags):
        tag_id = ensure_tag(conn, account_id, tag)
        camera_tags.link(conn, camera_id, tag_id)


def ensure_tag(conn: Connection, account_id: int, name: str) -> int:
    row = conn.execute(
        select(schema.va_tags.c.id).where(
            schema.va_tags.c.account_id == account_id, schema.va_tags.c.name == name
        )
    ).first()
    if row:
        return row.id
    return conn.execute(
        schema.va_tags.insert().values(account_id=account_id, name=name)
    ).inserted_primary_key[0]


def _parking(conn, account_id, spec, where) -> None:
    if not isinstance(spec, dict):
        raise FieldErrors({where: ["Expected an object."]})
    name = _text(spec, "name", where, required=True)
    spaces = spec.get("parking_spaces", 0)
    timer = spec.get("absent_timer", 3)
    for field, value in (("parking_spaces", spaces), ("absent_timer", timer)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FieldErrors({f"{where}.{field}": ["A whole number >= 0."]})
    if conn.execute(
        select(schema.pp_parkings.c.id).where(
            schema.pp_parkings.c.account_id == account_id, schema.pp_parkings.c.name == name
        )
    ).first():
        raise FieldErrors({f"{where}.name": [f"Parking '{name}' is listed twice."]})
    parking_id = conn.execute(
        schema.pp_parkings.insert().values(
            account_id=account_id, name=name, parking_spaces=spaces, absent_timer=timer
        )
    ).inserted_primary_key[0]
    for i, camera in enumerate(_list(spec, "cameras", where=where)):
        cw = f"{where}.cameras[{i}]"
        if not isinstance(camera, dict):
            raise FieldErrors({cw: ["Expected an object."]})
        code = _text(camera, "code", cw, required=True)
        kind = camera.get("type") or "SPOT"
        if kind not in CAMERA_TYPES:
            raise FieldErrors({f"{cw}.type": [f"One of {list(CAMERA_TYPES)}."]})
        coords = {}
        for axis in ("longitude", "latitude"):
            value = camera.get(axis)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise FieldErrors({f"{cw}.{axis}": ["A number or null."]})
            coords[axis] = value
        if conn.execute(
            select(schema.pp_cameras.c.id).where(
                schema.pp_cameras.c.account_id == account_id, schema.pp_cameras.c.code == code
            )
        ).first():
            raise FieldErrors({f"{cw}.code": [f"Camera '{code}' is listed twice."]})
        conn.execute(
            schema.pp_cameras.insert().values(
                account_id=account_id,
                parking_id=parking_id,
                code=code,
                name=_text(camera, "name", cw) or code,
                type=kind,
                notes=_text(camera, "notes", cw),
                **coords,
            )
        )


def _vehicle(conn, account_id, spec, where) -> None:
    if not isinstance(spec, dict):
        raise FieldErrors({where: ["Expected an object."]})
    plate = _text(spec, "license_plate", where, required=True).upper()
    values = {"payment_status": _scalar(spec.get("payment_status"))}
    for i in range(1, 7):
        values[f"field{i}"] = _scalar(spec.get(f"field{i}"))
    conn.execute(
        schema.pp_vehicles.insert().values(account_id=account_id, license_plate=plate, **values)
    )


def _scalar(value):
    return None if value is None else str(value)


def _list(spec: dict, key: str, where: str = "", required: bool = False) -> list:
    value = spec.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        name = f"{where}.{key}" if where else key
        raise FieldErrors({name: ["Expected a list."]})
    return value


def _text(spec: dict, key: str, where: str, required: bool = False) -> str | None:
    value = spec.get(key)
    if value is None:
        if required:
            raise FieldErrors({f"{where}.{key}": ["This field is required."]})
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 1000:
        raise FieldErrors({f"{where}.{key}": ["A non-empty string of at most 1000 characters."]})
    return value
