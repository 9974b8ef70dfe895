"""mockserver: a stateful emulator of the ParkPow and VisionAlert HTTP APIs."""

from __future__ import annotations

import sys

from .app import create_app
from .config import Config
from .testkit import client
from .testkit.intercept import intercept

__all__ = ["Config", "create_app", "intercept"]

# The documented import path of the control-plane client (README): ``mockserver.client``
# names the module that lives in ``testkit/``.
sys.modules[f"{__name__}.client"] = client
