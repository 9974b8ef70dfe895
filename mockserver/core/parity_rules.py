"""How a vendor's replies may differ from a recording of the live service and still agree.

A parity run (``mockserver parity``) compares the emulator's replies with recorded ones.
Some values can never be equal between two services (ids the database handed out, the
instant a row was made, the host in a URL, a cursor), yet their *form* is part of the
contract. Each vendor says which of its fields are which, as data in its own package
(``Vendor.parity``), so a third vendor brings its own rules.

A rule is a glob over a JSON path written ``$.results[].created``: object keys after a
dot, ``[]`` for any list index.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParityRules:
    """A vendor's JSON paths compared by something other than their value."""

    #: compared by form (the same JSON type; digits, a UUID or other text alike)
    ids: tuple[str, ...] = ()
    #: compared by format (``Z``, an offset, naive with microseconds, a date, ...)
    timestamps: tuple[str, ...] = ()
    #: compared by form (an absolute http(s) URL, or the same literal when not a URL)
    urls: tuple[str, ...] = ()
    #: page links (``next``/``previous``): present in both or in neither, the same path and
    #: the same parameters but the cursor or page; where a client followed one, the page
    #: it reached is compared in its own turn
    links: tuple[str, ...] = ()
    #: values that may differ at will (the JSON type must still agree), e.g. scores
    volatile: tuple[str, ...] = ()
