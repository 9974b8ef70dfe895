"""Server assembly: ``create_app`` builds one Emulator and mounts every part on a Flask app."""

from __future__ import annotations

from flask import Flask

from .config import Config
from .core.emulator import Emulator
from .core.web import install_edges


def create_app(config: Config | None = None, *, background: bool = False) -> Flask:
    """Build the app. ``background`` starts the tick that runs due work while time passes."""
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.upload_limit
    app.json.sort_keys = False
    emulator = Emulator(config)
    app.extensions["mockserver"] = emulator
    install_edges(app)

    from .control.middleware import ControlMiddleware
    from .control.mutants import blueprint as mutants_blueprint
    from .control.mutants import install as install_mutants
    from .control.plane_routes import blueprint as control_plane_blueprint
    from .control.routes import blueprint as control_blueprint
    from .control.scenarios import blueprint as scenarios_blueprint
    from .control.specs import blueprint as spec_blueprint
    from .core.media_routes import blueprint as media_blueprint
    from .parkpow.routes import blueprint as parkpow_blueprint
    from .visionalert.routes import blueprint as visionalert_blueprint
    from .visionalert.upload_routes import blueprint as upload_blueprint

    if config.control_enabled:
        app.register_blueprint(control_blueprint)
        app.register_blueprint(scenarios_blueprint)
        app.register_blueprint(spec_blueprint)
        app.register_blueprint(mutants_blueprint)
        app.register_blueprint(control_plane_blueprint)
    app.register_blueprint(media_blueprint)
    app.register_blueprint(parkpow_blueprint)
    app.register_blueprint(visionalert_blueprint)
    app.register_blueprint(upload_blueprint)
    install_mutants(app, emulator)
    app.wsgi_app = ControlMiddleware(app.wsgi_app, emulator)

    from .control.seeding import load_initial_seed

    load_initial_seed(emulator)
    if background:
        emulator.start_background()
    return app
