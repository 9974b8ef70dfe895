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
from ..core.emulator import Emulator
from ..core.errors import FieldErrors
from ..core.numbers import is_number
from ..core.seedfields import SeedConflict, section, seed_list
from ..core.vendor import products as vendor_products


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


def load_initial_seed(emulator: Emulator) -> dict | None:
    """Seed a fresh store once (the first worker to get here); a used store is left alone."""
    seed = resolve_seed(emulator.config.seed)

    def work(conn: Connection):
        done = conn.execute(select(schema.meta).where(schema.meta.c.key == "initialized")).first()
        if done is not None:
            return None
        conn.execute(schema.meta.insert().values(key="initialized", value="1"))
        if seed is None:
            return None
        return apply_seed(emulator.vendors, conn, seed, emulator.clock.now_us(conn))

    return emulator.store.transact(work)


def apply_seed(vendors, conn: Connection, seed: object, now_us: int) -> dict:
    """Create the seed's accounts; each vendor's seed reader creates its section's rows."""
    now_us -= now_us % 1_000_000  # stored as replies show it: whole seconds
    accounts = seed_list(seed, "accounts", required=True) if isinstance(seed, dict) else None
    if accounts is None:
        raise FieldErrors({"accounts": ["This field is required."]})
    result = []
    for index, account in enumerate(accounts):
        result.append(_account(vendors, conn, account, f"accounts[{index}]", now_us))
    return {"accounts": result}


def _account(vendors, conn: Connection, spec: object, where: str, now_us: int) -> dict:
    if not isinstance(spec, dict):
        raise FieldErrors({where: ["Expected an object."]})
    tokens = spec.get("tokens") or ([spec["token"]] if "token" in spec else [])
    if not tokens or not all(
        isinstance(t, str) and 0 < len(t) <= 200 and t.strip() == t and " " not in t for t in tokens
    ):
        raise FieldErrors({f"{where}.token": ["A non-empty token without spaces is required."]})
    known = vendor_products(vendors)
    products = spec.get("products", list(known))
    if not isinstance(products, list) or any(p not in known for p in products):
        raise FieldErrors({f"{where}.products": [f"Each product must be one of {list(known)}."]})
    rate = spec.get("rate_limit_per_second", 1)
    if rate is not None and (not is_number(rate) or not 0 < rate <= 1e6):  # as the rate-limit route
        raise FieldErrors(
            {f"{where}.rate_limit_per_second": ["A positive number up to 1e6 or null."]}
        )
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
    reply = {"token": tokens[0]}
    for vendor in vendors:
        if vendor.read_seed is not None:
            rows = section(spec, vendor.name, where)
            reply.update(vendor.read_seed(conn, account_id, rows, f"{where}.{vendor.name}", now_us))
    return reply
