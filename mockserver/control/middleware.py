"""WSGI middleware of the control plane: fault injection and the request journal."""

from __future__ import annotations


class ControlMiddleware:
    def __init__(self, wsgi_app, world) -> None:
        self.wsgi_app = wsgi_app
        self.world = world

    def __call__(self, environ, start_response):
        return self.wsgi_app(environ, start_response)
