"""The VisionAlert API: create-log upload, analysis, alerts, and the read API."""

from __future__ import annotations

from ..core.vendor import Vendor
from . import control_routes, jobs, judging, notify, routes, schema, seed, upload_routes

VENDOR = Vendor(
    name="visionalert",
    product=routes.PRODUCT,
    url_prefix="/v1/vision-alert/",
    hosts=("api.platerecognizer.com", "app.platerecognizer.com"),
    spec="visionalert",
    blueprints=(routes.blueprint, upload_routes.blueprint),
    control_blueprints=(control_routes.blueprint,),
    tables=schema.TABLES,
    jobs=(*jobs.JOBS, *notify.JOBS),
    read_seed=seed.read_seed,
    cors=upload_routes.CORS_POLICY,
    settings_changed=judging.settings_changed,
    mutants={
        "renamed_field": "VisionAlert cameras carry `status` instead of `latest_status`.",
        "missing_next": "Paginated envelopes lose their `next` key.",
        "found_not_404": "A camera that does not exist answers 200 (an empty page, no reference) instead of 404.",
        "naive_timezone": "Naive start/end timestamps are read as UTC+02:00, not in the server timezone.",
        "deleted_camera_reuse": "A deleted camera's logs and reference still answer 200.",
        "offset_timestamps": "VisionAlert timestamps are written `2026-04-10T14:30:00+00:00`: the same instant, not the documented `Z` form.",
        "reversed_previous_page": "A page reached through `previous` lists its rows oldest first (the reverse keyset query is not turned back).",
    },
)
