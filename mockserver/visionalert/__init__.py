"""The VisionAlert API: create-log upload, analysis, alerts, and the read API."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ..core import schema as core_schema
from ..core.vendor import Vendor, VendorMetrics
from . import (
    control_routes,
    dashboard,
    dashboard_alerts,
    jobs,
    judging,
    mutants,
    notify,
    overlay,
    parity,
    retention,
    routes,
    schema,
    seed,
    upload_routes,
)


def banner(conn: Connection) -> list[str]:
    """Each license's code and id (the id is in every VisionAlert path), with its token."""
    licenses, tokens = schema.va_licenses, core_schema.tokens
    rows = conn.execute(
        select(licenses.c.id, licenses.c.code, tokens.c.token)
        .join(tokens, tokens.c.account_id == licenses.c.account_id)
        .order_by(licenses.c.id)
    ).all()
    return [f"license {row.code} id={row.id}  (token {row.token})" for row in rows]


VENDOR = Vendor(
    name="visionalert",
    product=routes.PRODUCT,
    url_prefix="/v1/vision-alert/",
    hosts=("api.platerecognizer.com", "app.platerecognizer.com"),
    spec="visionalert",
    blueprints=(routes.blueprint, upload_routes.blueprint),
    control_blueprints=(control_routes.blueprint,),
    tables=schema.TABLES,
    jobs=(*jobs.JOBS, *notify.JOBS, *retention.JOBS),
    read_seed=seed.read_seed,
    cors=upload_routes.CORS_POLICY,
    settings_changed=judging.settings_changed,
    mutants=mutants.MUTANTS,
    banner=banner,
    parity=parity.RULES,
    dashboard={"fleet": dashboard, "alerts": dashboard_alerts, "overlay": overlay},
    metrics=VendorMetrics(
        uploads={"visionalert_upload.create_log": upload_routes.upload_outcome},
        webhook_kinds=(notify.WEBHOOK,),
    ),
)
