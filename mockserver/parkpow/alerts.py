"""trigger-alert: an integration asks ParkPow to raise one of its alert templates for a visit.

The webhook middleware posts ``{"visit_id", "alert_template_id"}`` (the visit id from the
webhook-receiver reply) and reads ``alert_id`` from the reply. Alert templates are set up in
ParkPow's web app, which the emulator does not have: any positive template id is accepted.
The emulator records the alert (sending nothing); the control plane lists the records
(``GET /_mock/parkpow/alerts``), so a test can assert on what its integration triggered.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from ..core.errors import REQUIRED, FieldErrors, NotFound
from ..core.numbers import field_id
from ..core.timefmt import iso_z
from . import schema

A = schema.pp_alerts.c
VC = schema.pp_visits.c


@dataclass(frozen=True)
class AlertRequest:
    visit_id: int
    alert_template_id: int


def alert_request(fields: dict) -> AlertRequest:
    """Both ids required, whole numbers (as JSON numbers or their text, as DRF reads them)."""
    errors: dict[str, list[str]] = {}
    values = {}
    for name in ("visit_id", "alert_template_id"):
        if name not in fields or fields[name] is None:
            errors[name] = [REQUIRED]
            continue
        number = field_id(fields[name])
        if number is None:
            errors[name] = ["A valid integer is required."]
        else:
            values[name] = number
    if errors:
        raise FieldErrors(errors)
    return AlertRequest(**values)


def trigger(store, account_id: int, request: AlertRequest, now_us: int) -> int:
    """Record the alert; 404 for a visit the account does not have. Returns its id."""

    def work(conn: Connection) -> int:
        visit = conn.execute(
            select(VC.license_plate).where(VC.id == request.visit_id, VC.account_id == account_id)
        ).first()
        if visit is None:
            raise NotFound()
        return conn.execute(
            schema.pp_alerts.insert().values(
                account_id=account_id,
                visit_id=request.visit_id,
                license_plate=visit.license_plate,
                alert_template_id=request.alert_template_id,
                created_us=now_us,
            )
        ).inserted_primary_key[0]

    return store.transact(work)


def recorded(store, visit_id: int | None = None, limit: int = 500) -> dict:
    """Every triggered alert (newest first), optionally of one visit: the control plane's view."""
    tokens = schema.tokens.c
    query = select(schema.pp_alerts).order_by(A.id.desc()).limit(limit)
    if visit_id is not None:
        query = query.where(A.visit_id == visit_id)

    def read(conn: Connection) -> dict:
        rows = conn.execute(query).all()
        token_of = {}
        for account_id, token in conn.execute(select(tokens.account_id, tokens.token)).all():
            token_of.setdefault(account_id, token)
        return {
            "alerts": [
                {
                    "alert_id": row.id,
                    "visit_id": row.visit_id,
                    "alert_template_id": row.alert_template_id,
                    "license_plate": row.license_plate,
                    "token": token_of.get(row.account_id),
                    "created": iso_z(row.created_us),
                }
                for row in rows
            ]
        }

    return store.query(read)
