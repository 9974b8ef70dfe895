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


def is_number_within(value: object, low: float, high: float) -> bool:
    """A JSON number in ``low..high`` (NaN and a 400-digit integer are not)."""
    return is_number(value) and low <= value <= high  # int/float compare exactly, never overflow


#: The largest id either store holds: ids are ``INTEGER`` columns, 32-bit on PostgreSQL
#: (bound as ``::INTEGER``), so a larger number names nothing and is never sent to a query.
MAX_ID = 2**31 - 1

#: The error for an id parameter that is not one
ID_ERROR = f"A whole number from 1 to {MAX_ID}."

#: The largest whole number a ``BIGINT`` column (times in microseconds, counters) holds.
MAX_BIG = 2**63 - 1


#: The largest whole number a vendor's integer id field accepts (DRF's ``IntegerField`` on a
#: 64-bit column): a larger one is not a valid integer.
MAX_FIELD_ID = 2**63 - 1


def lookup_id(number: int) -> int:
    """The id to look up for a valid integer: itself when a store can hold it, else ``0``,
    which no row has (ids start at 1). Such an id is then simply not found, as the vendor
    answers for an id beyond its table, and is never sent to a query it would overflow."""
    return number if 0 < number <= MAX_ID else 0


def field_id(value: object) -> int | None:
    """DRF's ``IntegerField`` read as an id: a JSON integer, a whole fraction (``8.0``) or
    its ASCII digits, positive and 64-bit, as ``lookup_id`` gives it; else ``None``."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        digits = value.strip().lstrip("0")  # leading zeros are allowed, and free
        value = int(digits) if 0 < len(digits) <= 19 else None
    elif isinstance(value, float) and value.is_integer():  # 8.0 is an integer to JSON Schema
        value = int(value)
    if not is_whole_number(value) or not 0 < value <= MAX_FIELD_ID:
        return None
    return lookup_id(value)


def is_store_id(value: object) -> bool:
    """A whole number an id column can hold (ids start at 1)."""
    return is_whole_number(value) and 0 < value <= MAX_ID


def parse_id(text: str | None) -> int | None:
    """An id written in ASCII digits and in the store's range, else ``None``.

    Only ``0-9`` count (``'٣'.isdigit()`` is true in Python), and the length is checked
    before ``int()`` so a megabyte of digits costs nothing.
    """
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def parse_whole(text: str | None, minimum: int = 0, maximum: int = MAX_BIG) -> int | None:
    """A whole number in ASCII digits within ``minimum..maximum``, else ``None``."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None
