"""What counts as a number in a JSON body: Python's ``bool`` is an ``int``, JSON's is not.

Every control-plane and seed field that takes a number checks it here, so ``true`` is
never read as ``1``.
"""

from __future__ import annotations


def is_number(value: object) -> bool:
    """A JSON number (integer or fraction), not ``true``/``false``."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_whole_number(value: object) -> bool:
    """A JSON integer, not ``true``/``false``."""
    return isinstance(value, int) and not isinstance(value, bool)
