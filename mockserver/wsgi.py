"""WSGI entry for worker processes: the app built from ``MOCKSERVER_*`` variables."""

from .app import create_app
from .config import Config

app = create_app(Config.from_env(), background=True)
