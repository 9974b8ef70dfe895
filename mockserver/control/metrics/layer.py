"""The metrics request layer: each exchange counted by its route template, never its path.

A label value is a route template of the app (``/v1/vision-alert/<int:license_id>/...``),
``unmatched`` for a path no route has, a known method or ``other``: whatever clients send,
the label sets stay bounded. Counting is a dictionary update (``core.tally``); the reply is
not held back.
"""

from __future__ import annotations

import time

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from ...core.emulator import Emulator
from ...core.tally import Tally
from ..middleware import FAULT

#: request-duration buckets, seconds (Prometheus' defaults)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
CONTROL = "control"  # the vendor label of /_mock/ and of anything that is no vendor's
OTHER = "other"
#: the route Flask matched, noted in the environ for the layer
RULE = "mockserver.url_rule"


def bucket_of(seconds: float) -> str:
    """The upper bound of the bucket ``seconds`` falls in (``+Inf`` past the last)."""
    for bound in BUCKETS:
        if seconds <= bound:
            return repr(bound)
    return "+Inf"


class MetricsLayer:
    """Layer: counts every exchange (``requests``, ``request_duration_*``), each upload's
    outcome (``uploads``) and each injected fault met (``faults_hit``)."""

    def __init__(self, wsgi_app, app: Flask, emulator: Emulator) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self.enabled = emulator.config.control_enabled and emulator.config.metrics
        self.tally: Tally = emulator.tally
        self.vendor_of_blueprint: dict[str, str] = {}
        self.prefixes: list[tuple[str, str]] = []
        self.uploads = {}
        for vendor in emulator.vendors:
            for blueprint in vendor.blueprints:
                self.vendor_of_blueprint[blueprint.name] = vendor.name
            self.prefixes.append((vendor.url_prefix, vendor.name))
            self.uploads.update(vendor.metrics.uploads)
        self.vendors = frozenset(vendor.name for vendor in emulator.vendors)
        app.url_value_preprocessor(_note_rule)  # Flask's routing result, for ``route``

    def __call__(self, environ, start_response):
        if not self.enabled:
            return self.wsgi_app(environ, start_response)
        began = time.perf_counter()
        status: list[int] = []

        def capture(line, headers, exc_info=None):
            status.append(int(line[:3]))
            return start_response(line, headers, exc_info)

        try:
            result = self.wsgi_app(environ, capture)
        except BaseException:
            self.count(environ, 500, time.perf_counter() - began, b"")
            raise
        if not isinstance(result, list):
            return _CountedReply(result, self, environ, status, began)
        self.count(environ, status[0] if status else 500, time.perf_counter() - began, result)
        return result

    def count(self, environ, status: int, seconds: float, body) -> None:
        vendor, endpoint, template = self.route(environ)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        method = method if method in METHODS else OTHER
        bucket = bucket_of(seconds)
        counts = [
            ("requests", (vendor, template, method, str(status)), 1, False),
            ("request_duration_bucket", (vendor, template, bucket), 1, False),
            ("request_duration_sum", (vendor, template), seconds, False),
        ]
        if vendor in self.vendors:  # the dashboard's latency over time: the vendor APIs'
            counts.append(("latency", (bucket,), 1, True))
        fault = environ.get(FAULT)
        if fault is not None:
            counts.append(("faults_hit", (fault.kind,), 1, False))
        outcome_of = self.uploads.get(endpoint)
        if outcome_of is not None:
            if fault is not None and fault.kind != "latency":
                outcome = "fault"
            else:
                outcome = outcome_of(status, b"".join(body) if isinstance(body, list) else body)
            counts.append(("uploads", (vendor, outcome), 1, True))
        self.tally.add_all(counts)

    def route(self, environ) -> tuple[str, str, str]:
        """(vendor, Flask endpoint, route template) of the request, bounded values only."""
        rule = environ.get(RULE)
        if rule is None:  # answered before Flask routed it (an injected fault), or no route
            try:
                rule, _ = self.app.url_map.bind_to_environ(environ).match(return_rule=True)
            except HTTPException:
                rule = None
        path = environ.get("PATH_INFO") or "/"
        if rule is None:
            return self.vendor_of_path(path), UNMATCHED, UNMATCHED
        blueprint = rule.endpoint.rpartition(".")[0]
        vendor = self.vendor_of_blueprint.get(blueprint)
        if vendor is None:
            vendor = CONTROL if path.startswith("/_mock") else OTHER
        return vendor, rule.endpoint, rule.rule

    def vendor_of_path(self, path: str) -> str:
        if path.startswith("/_mock"):
            return CONTROL
        for prefix, name in self.prefixes:
            if path.startswith(prefix):
                return name
        return OTHER


def _note_rule(_endpoint, _values) -> None:
    request.environ[RULE] = request.url_rule


class _CountedReply:
    """A streamed reply, counted once it was sent (or broke off)."""

    def __init__(self, result, layer: MetricsLayer, environ, status: list[int], began):
        self.result = result
        self.layer = layer
        self.environ = environ
        self.status = status
        self.began = began
        self.head = b""
        self.counted = False

    def __iter__(self):
        try:
            for chunk in self.result:
                if len(self.head) < 4096:
                    self.head += chunk[:4096]
                yield chunk
        finally:
            self._count()

    def close(self) -> None:
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            self._count()

    def _count(self) -> None:
        if not self.counted:
            self.counted = True
            status = self.status[0] if self.status else 500
            self.layer.count(self.environ, status, time.perf_counter() - self.began, self.head)
