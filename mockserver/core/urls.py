"""Absolute URLs for what the emulator hands out (pages, media)."""

from __future__ import annotations

from flask import Request


def base_url(request: Request, public_base_url: str = "") -> str:
    """``scheme://host`` of the reply: configured, else from forwarding headers or the request."""
    if public_base_url:
        return public_base_url.rstrip("/")
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    scheme = proto if proto in ("http", "https") else request.scheme
    return f"{scheme}://{host or request.host}"
