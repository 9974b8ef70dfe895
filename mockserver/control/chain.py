"""A request's path: the cross-cutting layers every request passes, declared in order.

The vendor APIs, the control plane and the media route are Flask views; what concerns
every request (its metrics, the control plane's door, the journal, the faults, the
mutants, the body limit, the cross-origin headers) is one layer each, listed once here in the order a
request meets them (the reply passes them in reverse). Each layer is a small WSGI object
with one job that passes what it does not concern untouched; it sees the request as the
client sent it and the reply as it leaves, which is what a fault or the journal needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from ..core import cors, outages
from ..core.emulator import Emulator
from ..core.web import ExactBodyLimit
from .metrics.layer import MetricsLayer
from .middleware import (
    ControlCalls,
    ControlGuard,
    ControlPlane,
    FaultLayer,
    JournalLayer,
    OriginGuard,
)
from .mutants import MutantLayer, MutantSwitch, parse_names


@dataclass(frozen=True)
class Parts:
    """What the layers are built from: one app's emulator and its control plane."""

    app: Flask
    emulator: Emulator
    plane: ControlPlane
    mutants: MutantSwitch
    cors: cors.Policy


@dataclass(frozen=True)
class Layer:
    name: str
    #: ``wrap(inner, parts)``: the layer around ``inner`` (a WSGI app)
    wrap: Callable[[Any, Parts], Any]


def _flask_cors(inner, parts: Parts):
    cors.install(parts.app, parts.cors)  # hooks of the Flask app itself: the reply's last step
    return inner


#: outermost first
LAYERS: tuple[Layer, ...] = (
    # every exchange counted by route template, its time and an upload's outcome
    Layer("metrics", lambda inner, p: MetricsLayer(inner, p.app, p.emulator)),
    # a reply no Flask view made (an injected fault) gets the CORS headers Flask's get
    Layer("fault reply CORS", lambda inner, p: cors.FaultReplyHeaders(inner, p.app, p.cors)),
    # the database unreachable or the disk full, raised outside Flask: 503/507, never 500
    Layer(
        "outage replies",
        lambda inner, p: outages.OutageReplies(inner, p.emulator.config.retry_after),
    ),
    # /_mock/: the control plane on, and the control token when one is configured
    Layer("control-plane guard", lambda inner, p: ControlGuard(inner, p.emulator.config)),
    # /_mock/: no cross-site caller (a foreign Origin; a state change not sent as JSON)
    Layer("cross-site guard", lambda inner, p: OriginGuard(inner, p.emulator.config)),
    # /_mock/: the journal written before a reset or clock change, faults re-read after
    Layer("control calls", lambda inner, p: ControlCalls(inner, p.plane, p.emulator.config)),
    # the API's exchanges as the client saw them, injected faults included
    Layer("journal", lambda inner, p: JournalLayer(inner, p.plane)),
    # an injected fault instead of, or around, the API's reply
    Layer("faults", lambda inner, p: FaultLayer(inner, p.plane)),
    # the switched-on mutants' rewrites of vendor requests and replies
    Layer("mutants", lambda inner, p: MutantLayer(inner, p.emulator, p.mutants)),
    # a body of exactly the upload limit accepted, whatever the WSGI server
    Layer("body limit", lambda inner, p: ExactBodyLimit(inner)),
    # the vendors' cross-origin policies on their listed paths (flask-cors, in Flask)
    Layer("CORS", _flask_cors),
)


def install(app: Flask, emulator: Emulator, policy: cors.Policy) -> Parts:
    """Wrap the Flask app in ``LAYERS``; the control plane and the mutant switch are made
    here and attached for the views (``emulator.control_plane``, the app's extensions)."""
    plane = ControlPlane(emulator)
    emulator.control_plane = plane
    emulator.background.append(plane)
    switch = MutantSwitch(emulator.store, parse_names(emulator.config.mutants))
    switch.start()
    app.extensions["mockserver_mutants"] = switch
    parts = Parts(app, emulator, plane, switch, policy)
    wsgi = app.wsgi_app
    for layer in reversed(LAYERS):
        wsgi = layer.wrap(wsgi, parts)
    app.wsgi_app = wsgi
    return parts
