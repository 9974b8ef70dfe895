"""The ParkPow API: cameras, vehicles, parking-list, visit-list, log-vehicle, and the
endpoints the vendor's own tools call (``tool_routes``)."""

from __future__ import annotations

from ..core.vendor import Vendor
from . import dashboard, imports, parity, routes, scenarios, schema, seed, tool_routes, visits

VENDOR = Vendor(
    name="parkpow",
    product=routes.PRODUCT,
    url_prefix="/api/v1/",
    hosts=("app.parkpow.com",),
    spec="parkpow",
    blueprints=(routes.blueprint, tool_routes.blueprint),
    control_blueprints=(scenarios.blueprint,),
    tables=schema.TABLES,
    jobs=visits.JOBS + imports.JOBS,
    read_seed=seed.read_seed,
    dashboard={"parking": dashboard},
    parity=parity.RULES,
)
