"""ParkPow cameras, vehicles and parking lots: the upserts and the parking-list read.

Every account has at least one parking lot once it has a camera: the lot with the lowest
id is its *default* lot, created (named ``default``) on first need. Cameras join the
default lot unless a ``parking`` name is given; a name not seen before creates that lot.
"""

from __future__ import annotations

from sqlalchemy import Connection, Row, select

from ..core.auth import Account
from ..core.emulator import Emulator
from . import schema
from .forms import CameraInput, VehicleInput

DEFAULT_PARKING = "default"
DEFAULT_ABSENT_TIMER = 3  # minutes, as the seed's parkings show

P = schema.pp_parkings.c
C = schema.pp_cameras.c
V = schema.pp_vehicles.c


def default_parking_id(conn: Connection, account_id: int) -> int:
    """The account's first parking lot (lowest id); created when it has none."""
    row = conn.execute(
        select(P.id).where(P.account_id == account_id).order_by(P.id).limit(1)
    ).first()
    if row is not None:
        return row.id
    return _insert_parking(conn, account_id, DEFAULT_PARKING)


def parking_id_by_name(conn: Connection, account_id: int, name: str) -> int:
    row = conn.execute(select(P.id).where(P.account_id == account_id, P.name == name)).first()
    if row is not None:
        return row.id
    return _insert_parking(conn, account_id, name)


def _insert_parking(conn: Connection, account_id: int, name: str) -> int:
    result = conn.execute(
        schema.pp_parkings.insert().values(
            account_id=account_id,
            name=name,
            parking_spaces=0,
            absent_timer=DEFAULT_ABSENT_TIMER,
        )
    )
    return result.inserted_primary_key[0]


def find_camera(conn: Connection, account_id: int, code: str) -> Row | None:
    """The camera with its lot's ``absent_timer`` (what a sighting needs, in one query)."""
    return conn.execute(
        select(schema.pp_cameras, P.absent_timer)
        .join(schema.pp_parkings, P.id == C.parking_id)
        .where(C.account_id == account_id, C.code == code)
    ).first()


def register_spot_camera(conn: Connection, account_id: int, code: str) -> Row:
    """A camera code first heard of in log-vehicle: a SPOT camera in the default lot."""
    conn.execute(
        schema.pp_cameras.insert().values(
            account_id=account_id,
            parking_id=default_parking_id(conn, account_id),
            code=code,
            name=code,
            type="SPOT",
        )
    )
    return find_camera(conn, account_id, code)  # type: ignore[return-value]


def upsert_camera(emulator: Emulator, account: Account, camera: CameraInput) -> Row:
    """Create the camera, or update the fields sent; returns the stored camera."""
    account_id = account.id

    def work(conn: Connection) -> Row:
        existing = find_camera(conn, account_id, camera.code)
        if camera.parking is not None:
            parking_id = parking_id_by_name(conn, account_id, camera.parking)
        elif existing is not None:
            parking_id = existing.parking_id
        else:
            parking_id = default_parking_id(conn, account_id)
        values = {"name": camera.name, "parking_id": parking_id, **camera.changes}
        if existing is None:
            values.setdefault("type", "SPOT")
            conn.execute(
                schema.pp_cameras.insert().values(account_id=account_id, code=camera.code, **values)
            )
        else:
            conn.execute(schema.pp_cameras.update().where(C.id == existing.id).values(**values))
        return find_camera(conn, account_id, camera.code)

    return emulator.store.transact(work)


def upsert_vehicle(emulator: Emulator, account: Account, vehicle: VehicleInput) -> Row:
    """Create the vehicle, or update the fields sent; returns the stored vehicle."""
    account_id = account.id

    def work(conn: Connection) -> Row:
        where = (V.account_id == account_id, V.license_plate == vehicle.license_plate)
        existing = conn.execute(select(V.id).where(*where)).first()
        if existing is None:
            conn.execute(
                schema.pp_vehicles.insert().values(
                    account_id=account_id, license_plate=vehicle.license_plate, **vehicle.changes
                )
            )
        elif vehicle.changes:
            conn.execute(
                schema.pp_vehicles.update().where(V.id == existing.id).values(**vehicle.changes)
            )
        return conn.execute(select(schema.pp_vehicles).where(*where)).first()

    return emulator.store.transact(work)


def parkings_with_cameras(emulator: Emulator, account: Account) -> list[tuple[Row, list[Row]]]:
    """Every parking lot of the account (by id) with its cameras (by id)."""
    account_id = account.id

    def work(conn: Connection):
        parkings = conn.execute(
            select(schema.pp_parkings).where(P.account_id == account_id).order_by(P.id)
        ).all()
        cameras = conn.execute(
            select(schema.pp_cameras).where(C.account_id == account_id).order_by(C.id)
        ).all()
        by_parking: dict[int, list[Row]] = {p.id: [] for p in parkings}
        for camera in cameras:
            by_parking.setdefault(camera.parking_id, []).append(camera)
        return [(p, by_parking[p.id]) for p in parkings]

    return emulator.store.query(work)
