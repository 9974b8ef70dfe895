"""What a vendor API is to the rest of the emulator: one descriptor, exported by its package.

The server assembly, authentication, interception, the specs page, seeding, the mutants
the dashboard and the start banner read everything vendor-specific from these descriptors (``mockserver/vendors.py`` lists
them once), so adding a vendor is its own package plus one line there, and nothing fills a
registry as a side effect of being imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint
from sqlalchemy import Connection, Table

from .duework import JobKind
from .mutant import Mutant
from .parity_rules import ParityRules

#: ``read_seed(conn, account_id, section, where, now_us)``: creates the rows an account's
#: section of a seed document describes (``where`` names the section in error messages)
SeedReader = Callable[[Connection, int, dict, str, int], Any]


@dataclass(frozen=True)
class Vendor:
    """One emulated vendor API."""

    name: str  # the key of its section in a seed document, e.g. "visionalert"
    product: str  # what an account must hold to use it (``accounts.products``)
    url_prefix: str  # every path of the API starts with it, e.g. "/v1/vision-alert/"
    hosts: tuple[str, ...]  # the real service's host names (answered by interception)
    spec: str  # its OpenAPI document: specs/<spec>.yaml
    blueprints: tuple[Blueprint, ...]  # its HTTP routes
    tables: tuple[Table, ...]  # its own tables (on the store's one MetaData)
    jobs: tuple[JobKind, ...] = ()  # its kinds of due work
    read_seed: SeedReader | None = None
    #: its views under ``/_mock/<name>/``: mounted only with the control plane on, behind the
    #: control token the control middleware checks for every ``/_mock/`` path
    control_blueprints: tuple[Blueprint, ...] = ()
    #: its cross-origin policy: path pattern -> flask-cors options (``core/cors.py``); paths
    #: not listed answer no browser of another origin
    cors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: ``settings_changed(emulator, conn, changes, now_us)``: run-time settings changed (in
    #: the transaction that changed them), e.g. to judge pending work again
    settings_changed: Callable[[Any, Connection, dict, int], None] | None = None
    #: the deliberate contract deviations that concern this API, in the order they apply
    mutants: tuple[Mutant, ...] = ()
    #: its read-models the dashboard's pages call, by role (e.g. ``"fleet"``: a module)
    dashboard: Mapping[str, Any] = field(default_factory=dict)
    #: ``banner(conn)``: lines ``mockserver serve`` prints at start about this API's world
    #: (e.g. the ids clients need), after the accounts' tokens
    banner: Callable[[Connection], list[str]] | None = None
    #: which reply fields a parity run compares by form, not value (``core/parity_rules.py``)
    parity: ParityRules = field(default_factory=ParityRules)


def products(vendors: tuple[Vendor, ...]) -> tuple[str, ...]:
    return tuple(vendor.product for vendor in vendors)


def cors_policy(vendors: tuple[Vendor, ...]) -> dict[str, Mapping[str, Any]]:
    """Every vendor's cross-origin policy, as one mapping (their URL prefixes differ)."""
    return {pattern: options for vendor in vendors for pattern, options in vendor.cors.items()}


def hosts(vendors: tuple[Vendor, ...]) -> tuple[str, ...]:
    return tuple(host for vendor in vendors for host in vendor.hosts)
