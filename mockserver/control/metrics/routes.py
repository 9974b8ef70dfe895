"""``GET /_mock/metrics``: the scrape (behind the control plane's door, like all of
``/_mock/``)."""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST

from ...core.errors import NotFound
from ...core.web import current_emulator
from .exposition import scrape

blueprint = Blueprint("control_metrics", __name__, url_prefix="/_mock")


@blueprint.get("/metrics")
def metrics():
    if not current_emulator().config.metrics:
        raise NotFound()  # counting is off (``MOCKSERVER_METRICS=0``)
    return Response(scrape(current_emulator()), mimetype=None, content_type=CONTENT_TYPE_LATEST)
