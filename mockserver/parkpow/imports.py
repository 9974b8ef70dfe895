"""import-vehicles and task-check: a CSV of vehicles imported as due work on the clock.

ParkPow's file-import tool posts a CSV (``import_file``) with ``remove`` = ``true``|``false``,
reads an optional ``task_id`` from the reply and polls ``task-check/?task_id=`` until the
reply is ``{"info": ...}`` (done) or ``{"error": ...}`` (failed); ``{}`` means pending.

Here the file is checked when it arrives (UTF-8 text with a ``license_plate`` column, else
400 and nothing is queued) and applied ``import_delay`` seconds of emulator time later, all
rows or none: a row whose plate is blank or too long fails the task with an ``error`` naming
it. Columns used: ``license_plate``, ``payment_status``, ``field1``..``field6`` (a blank cell
leaves the stored value alone) and ``Vehicle Tags`` (comma-separated names, added to the
vehicle; new names become tags). Other columns of the tool's format are read and ignored.
``remove=true`` deletes the listed plates' vehicles instead.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from ..core import duework
from ..core.auth import Account
from ..core.dialect import insert_or_ignore
from ..core.emulator import Emulator
from ..core.errors import REQUIRED, FieldErrors, NotFound
from . import schema
from .forms import CUSTOM_MAX, VEHICLE_FIELDS, Invalid, normalise_plate
from .vehicles import tag_ids

IMPORT_KIND = "parkpow.import"
PLATE_COLUMN = "license_plate"
TAGS_COLUMN = "Vehicle Tags"
MAX_ROWS = 100_000
NO_FILE = "No file was submitted."
EMPTY_FILE = "The submitted file is empty."
NOT_CSV = "Upload a CSV file (UTF-8) with a license_plate column."

I = schema.pp_imports.c  # noqa: E741
V = schema.pp_vehicles.c


@dataclass(frozen=True)
class ImportRequest:
    csv_text: str
    remove: bool


def import_request(files: dict[str, bytes], fields: dict[str, object]) -> ImportRequest:
    """The edge's check: a readable CSV with the plate column, and a boolean ``remove``."""
    errors: dict[str, list[str]] = {}
    text = None
    if "import_file" not in files:
        errors["import_file"] = [NO_FILE]
    elif not files["import_file"]:
        errors["import_file"] = [EMPTY_FILE]
    else:
        try:
            text = files["import_file"].decode("utf-8-sig")
            _rows(text)
        except (UnicodeDecodeError, ValueError, csv.Error):
            errors["import_file"] = [NOT_CSV]
    remove = fields.get("remove", "false")
    word = remove.strip().lower() if isinstance(remove, str) else remove
    if word not in ("true", "false", "1", "0", True, False):
        errors["remove"] = ["Must be a valid boolean."]
    if errors:
        raise FieldErrors(errors)
    return ImportRequest(text, word in ("true", "1", True))  # type: ignore[arg-type]


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or PLATE_COLUMN not in [f.strip() for f in reader.fieldnames]:
        raise ValueError("no license_plate column")
    rows = []
    for row in reader:
        rows.append({(k or "").strip(): (v or "") for k, v in row.items() if isinstance(v, str)})
        if len(rows) > MAX_ROWS:
            raise ValueError("too many rows")
    return rows


def start_import(emulator: Emulator, account: Account, request: ImportRequest, now_us: int) -> str:
    """Queue the import; returns its task id."""
    task_id = str(uuid.uuid4())
    delay_us = int(float(emulator.settings()["import_delay"]) * 1_000_000)

    def work(conn: Connection) -> None:
        import_id = conn.execute(
            schema.pp_imports.insert().values(
                account_id=account.id,
                task_id=task_id,
                remove=request.remove,
                csv=request.csv_text,
                created_us=now_us,
            )
        ).inserted_primary_key[0]
        duework.schedule(conn, IMPORT_KIND, now_us + delay_us, {"import": import_id})

    emulator.store.transact(work)
    return task_id


def task_state(emulator: Emulator, account: Account, task_id: str | None) -> dict:
    """``{}`` while pending, then the outcome: ``{"info": ...}`` or ``{"error": ...}``."""
    if task_id is None or not task_id.strip():
        raise FieldErrors({"task_id": [REQUIRED]})
    row = emulator.store.query(
        lambda conn: conn.execute(
            select(I.outcome).where(I.task_id == task_id.strip(), I.account_id == account.id)
        ).first()
    )
    if row is None:
        raise NotFound()
    return {} if row.outcome is None else json.loads(row.outcome)


def _apply_import(_emulator: Emulator, conn: Connection, job: duework.Job, _prepared) -> None:
    row = conn.execute(
        select(schema.pp_imports).where(I.id == job.payload.get("import"), I.outcome.is_(None))
    ).first()
    if row is None:
        return
    try:
        outcome = {"info": _import_rows(conn, row.account_id, _rows(row.csv or ""), row.remove)}
    except Invalid as exc:
        outcome = {"error": str(exc)}
    conn.execute(
        schema.pp_imports.update()
        .where(I.id == row.id)
        .values(outcome=json.dumps(outcome), csv=None)
    )


def _import_rows(conn: Connection, account_id: int, rows: list[dict], remove: bool) -> dict:
    """Check every row, then write them all (an error leaves the store as it was)."""
    plates = []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            plates.append(normalise_plate(row.get(PLATE_COLUMN, "")))
        except Invalid as exc:
            raise Invalid(f"Row {number}: {PLATE_COLUMN}: {exc}") from None
        for name in VEHICLE_FIELDS:
            if len(row.get(name, "")) > CUSTOM_MAX:
                raise Invalid(f"Row {number}: {name}: too long.")
    if remove:
        removed = conn.execute(
            delete(schema.pp_vehicles).where(
                V.account_id == account_id, V.license_plate.in_(plates)
            )
        ).rowcount
        return {"rows": len(rows), "removed": removed}
    created = updated = 0
    for plate, row in zip(plates, rows, strict=True):
        changes = {n: row[n].strip() for n in VEHICLE_FIELDS if row.get(n, "").strip()}
        where = (V.account_id == account_id, V.license_plate == plate)
        existing = conn.execute(select(V.id).where(*where)).first()
        if existing is None:
            vehicle_id = conn.execute(
                schema.pp_vehicles.insert().values(
                    account_id=account_id, license_plate=plate, **changes
                )
            ).inserted_primary_key[0]
            created += 1
        else:
            vehicle_id = existing.id
            if changes:
                conn.execute(schema.pp_vehicles.update().where(V.id == vehicle_id).values(changes))
            updated += 1
        names = [n.strip() for n in row.get(TAGS_COLUMN, "").split(",") if n.strip()]
        for tag_id in tag_ids(conn, account_id, names):
            conn.execute(
                _TAG_VEHICLE[conn.dialect.name].values(vehicle_id=vehicle_id, tag_id=tag_id)
            )
    return {"rows": len(rows), "created": created, "updated": updated}


JOBS = (duework.JobKind(IMPORT_KIND, _apply_import),)


_TAG_VEHICLE = insert_or_ignore(schema.pp_vehicle_tags)
