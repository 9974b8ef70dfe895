"""The emulated vendor APIs: the one place that lists them (see ``core/vendor.py``)."""

from __future__ import annotations

from . import parkpow, visionalert

VENDORS = (parkpow.VENDOR, visionalert.VENDOR)
