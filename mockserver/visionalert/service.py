"""VisionAlert read rules: what an account may see, in the seed's shapes."""

from __future__ import annotations

from sqlalchemy import select

from ..core import schema
from ..core.auth import Account
from ..core.timefmt import iso_z
from ..core.web import emulator


def list_licenses(account: Account) -> list[dict]:
    lic = schema.va_licenses.c
    query = (
        select(schema.va_licenses)
        .where(lic.account_id == account.id)
        .order_by(lic.created_us.desc(), lic.id.desc())
    )
    rows = emulator().store.query(lambda conn: conn.execute(query).all())
    return [
        {
            "id": row.id,
            "code": row.code,
            "size": row.size,
            "va_type": row.va_type,
            "expiration": iso_z(row.expiration_us),
            "created": iso_z(row.created_us),
            "modified": iso_z(row.modified_us),
        }
        for row in rows
    ]
