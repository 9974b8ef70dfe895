"""Token authentication and tenancy, with DRF's exact texts."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from . import schema
from .errors import InvalidToken, NotAuthenticated, PermissionDenied

_BY_TOKEN = (
    select(
        schema.accounts.c.id,
        schema.accounts.c.products,
        schema.accounts.c.rate_limit_per_second,
    )
    .join(schema.tokens, schema.tokens.c.account_id == schema.accounts.c.id)
    .where(schema.tokens.c.token == bindparam("token"))
)


@dataclass(frozen=True)
class Account:
    id: int
    products: tuple[str, ...]
    rate_limit_per_second: float | None
    token: str


def token_from_header(header: str | None) -> str:
    """DRF TokenAuthentication's rules: keyword ``Token``, exactly one credential."""
    if not header:
        raise NotAuthenticated()
    parts = header.split()
    if not parts or parts[0].lower() != "token":
        raise NotAuthenticated()
    if len(parts) != 2:
        raise InvalidToken()
    return parts[1]


def authenticate(conn: Connection, header: str | None) -> Account:
    token = token_from_header(header)
    row = conn.execute(_BY_TOKEN, {"token": token}).first()
    if row is None:
        raise InvalidToken()
    return Account(row.id, tuple(json.loads(row.products)), row.rate_limit_per_second, token)


def require_product(account: Account, product: str, message: str | None = None) -> None:
    if product not in account.products:
        raise PermissionDenied(message or "You do not have permission to perform this action.")
