"""Reading VisionAlert's section of a seed document: licenses, their cameras and tags."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..core.errors import FieldErrors
from ..core.numbers import MAX_ID, is_whole_number
from ..core.seedfields import SeedConflict, seed_list, seed_text
from ..core.timefmt import parse_instant
from . import camera_tags, schema


def read_seed(conn: Connection, account_id: int, section: dict, where: str, now_us: int) -> dict:
    """The account's licenses (with their cameras); returns them for the seed's reply."""
    licenses = []
    for i, lic in enumerate(seed_list(section, "licenses", where=where)):
        licenses.append(_license(conn, account_id, lic, f"{where}.licenses[{i}]", now_us))
    return {"licenses": licenses}


def _license(conn: Connection, account_id: int, spec: object, where: str, now_us: int) -> dict:
    if not isinstance(spec, dict):
        raise FieldErrors({where: ["Expected an object."]})
    code = seed_text(spec, "code", where, required=True)
    size = spec.get("size", 50)
    if not is_whole_number(size) or not 0 <= size <= MAX_ID:
        raise FieldErrors({f"{where}.size": [f"A whole number from 0 to {MAX_ID}."]})
    va_type = seed_text(spec, "va_type", where) or "meraki"
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
    for i, camera in enumerate(seed_list(spec, "cameras", where=where)):
        _va_camera(conn, account_id, license_id, camera, f"{where}.cameras[{i}]", now_us)
    return {"code": code, "id": license_id}


def _va_camera(conn, account_id, license_id, spec, where, now_us) -> None:
    if not isinstance(spec, dict):
        raise FieldErrors({where: ["Expected an object."]})
    serial = seed_text(spec, "serial", where, required=True)
    if len(serial) > 128 or "/" in serial or any(ord(ch) < 32 or ord(ch) == 127 for ch in serial):
        # the rule create-log applies: a serial is a URL path segment of the read API
        raise FieldErrors(
            {f"{where}.serial": ["At most 128 characters; no '/' or control characters."]}
        )
    name = seed_text(spec, "name", where) or serial
    notes = seed_text(spec, "notes", where) or ""
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
