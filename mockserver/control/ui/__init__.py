"""The dashboard at ``/_mock/ui``: the emulated world as pages a person can read.

Server-rendered (Jinja), readable without JavaScript; ``ui.js`` only adds the live
journal tail and the ticking clock. Templates and static files live in
``mockserver/data/ui/`` (shipped as package data); nothing is fetched from the internet.
Protected like every ``/_mock/`` path: the control-plane guard checks the control token
(also as HTTP Basic's password, so a browser can send it; see ``control/credentials.py``).
What a page shows of a vendor's world comes from that vendor's read-models, reached
through its descriptor (``Vendor.dashboard``), never by importing the vendor's package.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from . import actions, pages
from .present import HELPERS

DATA = Path(__file__).resolve().parents[2] / "data" / "ui"

blueprint = Blueprint(
    "ui",
    __name__,
    url_prefix="/_mock/ui",
    template_folder=str(DATA / "templates"),
    static_folder=str(DATA / "static"),
    static_url_path="/static",
)
blueprint.context_processor(lambda: HELPERS)
blueprint.register_blueprint(pages.blueprint)
blueprint.register_blueprint(actions.blueprint)

__all__ = ["blueprint"]
