"""Read replies kept per thread while the store has not changed: no work repeated.

A reply is reused only for the same request (path, query, account, base URL) and only
while SQLite's ``data_version`` of this thread's reader connection is the one the reply
was built at: any commit by any other connection, in any worker process, changes it.
The version carries the connection's serial (unique in the process), so replies of
another store, or of an earlier connection, never match. On PostgreSQL the version is a
sequence every host's commits advance (``pgstore.py``), keyed with the store's serial.
A reply that would change as the clock passes an instant (a log appearing) is reused only
before that instant.
Nothing is shared between threads, and each thread keeps at most ``SIZE`` replies.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import Response, g, request

SIZE = 128
_local = threading.local()


def _entries() -> OrderedDict:
    entries = getattr(_local, "entries", None)
    if entries is None:
        entries = _local.entries = OrderedDict()
    return entries


def version() -> tuple | None:
    """The store version this request started at (None: not cacheable)."""
    return g.get("store_version")


def remembered(
    key: tuple,
    produce: Callable[[], Response],
    enabled: bool = True,
    until: Callable[[], int | None] | None = None,
) -> Response:
    """The reply ``produce`` makes, or the same reply made earlier at this store version.

    ``until``: the next instant of the emulator clock at which the reply would change with
    no write at all (data that appears on the clock); the reply is reused only before it.
    """
    current = version() if enabled else None
    if current is None:
        return produce()
    entries = _entries()
    full_key = (request.method, request.full_path, *key)
    found = entries.get(full_key)
    if found is not None and found[0] == current and (found[3] is None or g.now_us < found[3]):
        entries.move_to_end(full_key)
        return Response(found[2], status=found[1], mimetype="application/json")
    response = produce()
    if response.status_code == 200 and not response.direct_passthrough:
        valid_until = until() if until is not None else None
        entries[full_key] = (current, response.status_code, response.get_data(), valid_until)
        entries.move_to_end(full_key)
        while len(entries) > SIZE:
            entries.popitem(last=False)
    return response


def cached_value(key: tuple, produce: Callable[[], object], configuration: bool = False) -> object:
    """A value reused while the store version holds; ``configuration``: a value read from
    the configuration (settings, accounts, faults, ``meta``), reused while its own version
    holds (on PostgreSQL uploads do not move it, ``pgstore.config_key``)."""
    current = g.get("config_version") if configuration else version()
    if current is None:
        return produce()
    values = getattr(_local, "values", None)
    if values is None:
        values = _local.values = {}
    found = values.get(key)
    if found is not None and found[0] == current:
        return found[1]
    value = produce()
    if len(values) > 4 * SIZE:
        values.clear()
    values[key] = (current, value)
    return value
