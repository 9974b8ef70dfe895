"""Server assembly: ``create_app`` builds one Emulator and mounts every part on a Flask app.

The vendor APIs come from their descriptors (``vendors.py``); the control plane
(``/_mock/``, with the dashboard and each vendor's own control views) and the media route
are mounted beside them. What concerns every request (the control plane's door, the
journal, faults, mutants, the body limit, the cross-origin headers) is the ordered list
of layers in ``control/chain.py``.
"""

from __future__ import annotations

from flask import Flask

from .config import Config
from .control import chain
from .control.metrics.routes import blueprint as metrics_blueprint
from .control.mutants import blueprint as mutants_blueprint
from .control.plane_routes import blueprint as control_plane_blueprint
from .control.routes import blueprint as control_blueprint
from .control.seeding import load_initial_seed
from .control.specs import blueprint as spec_blueprint
from .control.ui import blueprint as ui_blueprint
from .core.emulator import Emulator
from .core.media_routes import blueprint as media_blueprint
from .core.vendor import cors_policy
from .core.web import install_edges
from .vendors import VENDORS

CONTROL_BLUEPRINTS = (
    control_blueprint,
    spec_blueprint,
    mutants_blueprint,
    control_plane_blueprint,
    ui_blueprint,
    metrics_blueprint,
)


def create_app(config: Config | None = None, *, background: bool = False) -> Flask:
    """Build the app. ``background`` starts the tick that runs due work while time passes."""
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.upload_limit
    app.json.sort_keys = False
    emulator = Emulator(config, VENDORS)
    app.extensions["mockserver"] = emulator
    install_edges(app)
    if config.control_enabled:
        for blueprint in CONTROL_BLUEPRINTS:
            app.register_blueprint(blueprint)
        for vendor in VENDORS:
            for blueprint in vendor.control_blueprints:
                app.register_blueprint(blueprint)
    app.register_blueprint(media_blueprint)
    for vendor in VENDORS:
        for blueprint in vendor.blueprints:
            app.register_blueprint(blueprint)
    chain.install(app, emulator, cors_policy(VENDORS))
    load_initial_seed(emulator)
    if background:
        emulator.start_background()
    return app
