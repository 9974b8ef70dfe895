"""Vehicles and their tags as ParkPow's tools read and change them.

* ``GET vehicles/``: the account's vehicles (the ones created by create-vehicle or an import;
  a plate only ever sighted is a visit, not a vehicle), by id, page-numbered; ``tags=<name>``
  keeps the vehicles carrying that tag. An item's keys come in a fixed order with ``tags``
  ninth: a gate tool reads the tag names as the ninth value of each item.
* ``GET vehicle-tags/``: the account's tags ``{id, name}``, by id, page-numbered.
* ``POST edit-tags/?checked=&tag_id=&vehicle_id=``: ``true`` puts the tag on the vehicle,
  ``false`` takes it off; doing what is already done is not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Row, delete, select

from ..core.auth import Account
from ..core.dialect import insert_or_ignore
from ..core.emulator import Emulator
from ..core.errors import REQUIRED, FieldErrors, NotFound
from ..core.numbers import field_id
from . import schema
from .paging import NumberedPage, PageNumber, fetch_numbered_page

V = schema.pp_vehicles.c
T = schema.pp_tags.c
VT = schema.pp_vehicle_tags.c
TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")


def vehicle_page(
    emulator: Emulator, account: Account, tag: str | None, page: PageNumber
) -> NumberedPage:
    account_id = account.id
    query = select(schema.pp_vehicles).where(V.account_id == account_id).order_by(V.id)
    if tag is not None and tag.strip():
        tagged = (
            select(VT.vehicle_id)
            .join(schema.pp_tags, T.id == VT.tag_id)
            .where(T.account_id == account_id, T.name == tag.strip())
        )
        query = query.where(V.id.in_(tagged))

    def work(conn: Connection) -> NumberedPage:
        numbered = fetch_numbered_page(conn, query, page)
        names = _tag_names(conn, [row.id for row in numbered.rows])
        numbered.rows = [(row, names.get(row.id, [])) for row in numbered.rows]
        return numbered

    return emulator.store.query(work)


def _tag_names(conn: Connection, vehicle_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    if not vehicle_ids:
        return names
    rows = conn.execute(
        select(VT.vehicle_id, T.name)
        .join(schema.pp_tags, T.id == VT.tag_id)
        .where(VT.vehicle_id.in_(vehicle_ids))
        .order_by(T.name)
    ).all()
    for vehicle_id, name in rows:
        names.setdefault(vehicle_id, []).append(name)
    return names


def vehicle_item(entry: tuple[Row, list[str]]) -> dict:
    row, tags = entry
    return {
        "license_plate": row.license_plate,
        **{f"field{i}": getattr(row, f"field{i}") for i in range(1, 7)},
        "payment_status": row.payment_status,
        "tags": tags,
        "id": row.id,
    }


def tag_page(emulator: Emulator, account: Account, page: PageNumber) -> NumberedPage:
    account_id = account.id
    query = select(T.id, T.name).where(T.account_id == account_id).order_by(T.id)
    return emulator.store.query(lambda conn: fetch_numbered_page(conn, query, page))


def tag_item(row: Row) -> dict:
    return {"id": row.id, "name": row.name}


@dataclass(frozen=True)
class TagEdit:
    checked: bool
    tag_id: int
    vehicle_id: int


def tag_edit(params: dict[str, str | None]) -> TagEdit:
    """``checked``, ``tag_id``, ``vehicle_id`` as DRF's BooleanField and IntegerField read them."""
    errors: dict[str, list[str]] = {}
    values: dict[str, object] = {}
    raw = params.get("checked")
    word = raw.strip().lower() if isinstance(raw, str) else None
    if raw is None:
        errors["checked"] = [REQUIRED]
    elif word in TRUE_WORDS or word in FALSE_WORDS:
        values["checked"] = word in TRUE_WORDS
    else:
        errors["checked"] = ["Must be a valid boolean."]
    for name in ("tag_id", "vehicle_id"):
        raw = params.get(name)
        if raw is None:
            errors[name] = [REQUIRED]
            continue
        number = field_id(raw)
        if number is None:
            errors[name] = ["A valid integer is required."]
            continue
        values[name] = number
    if errors:
        raise FieldErrors(errors)
    return TagEdit(**values)  # type: ignore[arg-type]


def edit_tags(emulator: Emulator, account: Account, edit: TagEdit) -> None:
    """Put the tag on the vehicle (or take it off); 404 when either is not the account's."""
    account_id = account.id

    def work(conn: Connection) -> None:
        vehicle = conn.execute(
            select(V.id).where(V.id == edit.vehicle_id, V.account_id == account_id)
        ).first()
        tag = conn.execute(select(T.id).where(T.id == edit.tag_id, T.account_id == account_id))
        if vehicle is None or tag.first() is None:
            raise NotFound()
        if edit.checked:
            conn.execute(
                _TAG_VEHICLE[conn.dialect.name].values(
                    vehicle_id=edit.vehicle_id, tag_id=edit.tag_id
                )
            )
        else:
            conn.execute(
                delete(schema.pp_vehicle_tags).where(
                    VT.vehicle_id == edit.vehicle_id, VT.tag_id == edit.tag_id
                )
            )

    emulator.store.transact(work)


def tag_ids(conn: Connection, account_id: int, names: list[str]) -> list[int]:
    """The ids of the named tags, creating the ones the account does not have yet."""
    ids = []
    for name in names:
        row = conn.execute(select(T.id).where(T.account_id == account_id, T.name == name)).first()
        if row is None:
            row = conn.execute(
                schema.pp_tags.insert().values(account_id=account_id, name=name)
            ).inserted_primary_key
        ids.append(row[0])
    return ids


_TAG_VEHICLE = insert_or_ignore(schema.pp_vehicle_tags)
