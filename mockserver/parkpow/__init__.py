"""The ParkPow API: cameras, vehicles, parking-list, visit-list, log-vehicle."""

from __future__ import annotations

from ..core.vendor import Vendor
from . import routes, schema, seed, visits

VENDOR = Vendor(
    name="parkpow",
    product=routes.PRODUCT,
    url_prefix="/api/v1/",
    hosts=("app.parkpow.com",),
    spec="parkpow",
    blueprints=(routes.blueprint,),
    tables=schema.TABLES,
    jobs=visits.JOBS,
    read_seed=seed.read_seed,
)
