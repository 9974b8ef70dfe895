"""Account-level scenario controls: the per-account create-log throttle."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..core import schema
from ..core.errors import FieldErrors, NotFound
from ..core.numbers import is_number


def _account_id(conn: Connection, token: str) -> int:
    row = conn.execute(
        select(schema.tokens.c.account_id).where(schema.tokens.c.token == token)
    ).first()
    if row is None:
        raise NotFound("No account has this token.")
    return row.account_id


def parse_rate_limit(body: dict) -> float | None:
    if "rate_limit_per_second" not in body:
        raise FieldErrors({"rate_limit_per_second": ["This field is required."]})
    value = body["rate_limit_per_second"]
    if value is not None and (not is_number(value) or not 0 < value <= 1e6):
        raise FieldErrors(
            {"rate_limit_per_second": ["A number of requests per second > 0, or null for none."]}
        )
    return None if value is None else float(value)


def rate_limit(conn: Connection, token: str) -> dict:
    account_id = _account_id(conn, token)
    value = conn.execute(
        select(schema.accounts.c.rate_limit_per_second).where(schema.accounts.c.id == account_id)
    ).scalar_one()
    return {"token": token, "rate_limit_per_second": value}


def set_rate_limit(conn: Connection, token: str, value: float | None) -> dict:
    account_id = _account_id(conn, token)
    conn.execute(
        schema.accounts.update()
        .where(schema.accounts.c.id == account_id)
        .values(rate_limit_per_second=value)
    )
    # a new limit starts from a clean history, as if the account had been quiet
    conn.execute(schema.throttles.delete().where(schema.throttles.c.account_id == account_id))
    return rate_limit(conn, token)
