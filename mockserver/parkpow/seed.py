"""Reading ParkPow's section of a seed document: parkings with their cameras, vehicles."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..core.errors import FieldErrors
from ..core.numbers import MAX_ID, is_number, is_whole_number
from ..core.seedfields import scalar, seed_list, seed_text
from . import schema
from .forms import CAMERA_TYPES


def read_seed(conn: Connection, account_id: int, section: dict, where: str, now_us: int) -> dict:
    """The account's parkings and vehicles; nothing to report in the seed's reply."""
    for i, parking in enumerate(seed_list(section, "parkings", where=where)):
        _parking(conn, account_id, parking, f"{where}.parkings[{i}]")
    for i, vehicle in enumerate(seed_list(section, "vehicles", where=where)):
        _vehicle(conn, account_id, vehicle, f"{where}.vehicles[{i}]")
    return {}


def _parking(conn, account_id, spec, where) -> None:
    if not isinstance(spec, dict):
        raise FieldErrors({where: ["Expected an object."]})
    name = seed_text(spec, "name", where, required=True)
    spaces = spec.get("parking_spaces", 0)
    timer = spec.get("absent_timer", 3)
    for field, value in (("parking_spaces", spaces), ("absent_timer", timer)):
        if not is_whole_number(value) or not 0 <= value <= MAX_ID:
            raise FieldErrors({f"{where}.{field}": [f"A whole number from 0 to {MAX_ID}."]})
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
    for i, camera in enumerate(seed_list(spec, "cameras", where=where)):
        cw = f"{where}.cameras[{i}]"
        if not isinstance(camera, dict):
            raise FieldErrors({cw: ["Expected an object."]})
        code = seed_text(camera, "code", cw, required=True)
        kind = camera.get("type") or "SPOT"
        if kind not in CAMERA_TYPES:
            raise FieldErrors({f"{cw}.type": [f"One of {list(CAMERA_TYPES)}."]})
        coords = {}
        for axis in ("longitude", "latitude"):
            value = camera.get(axis)
            if value is not None and (not is_number(value)):
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
                name=seed_text(camera, "name", cw) or code,
                type=kind,
                notes=seed_text(camera, "notes", cw),
                **coords,
            )
        )


def _vehicle(conn, account_id, spec, where) -> None:
    if not isinstance(spec, dict):
        raise FieldErrors({where: ["Expected an object."]})
    plate = seed_text(spec, "license_plate", where, required=True).upper()
    values = {"payment_status": scalar(spec.get("payment_status"))}
    for i in range(1, 7):
        values[f"field{i}"] = scalar(spec.get(f"field{i}"))
    conn.execute(
        schema.pp_vehicles.insert().values(account_id=account_id, license_plate=plate, **values)
    )
