"""``sharedmem.SharedState`` for a world shared by several hosts (PostgreSQL).

A memory-mapped file reaches the processes of one machine only, so across hosts:

* the *faults token* is a database sequence: a change to the fault table advances it, and
  each process re-reads its cached fault list when the value it reads differs;
* there are no *journal slots*: in this mode every host writes its journal entries before
  the request ends (``journal.Journal.immediate``), so there is no buffer to wait for.
"""

from __future__ import annotations

from sqlalchemy import text

_READ = text("SELECT last_value FROM mockserver_faults_token")
_TOUCH = text("SELECT nextval('mockserver_faults_token')")


class DatabaseSharedState:
    """The same interface as ``SharedState``, backed by the shared database."""

    def __init__(self, store) -> None:
        self.store = store

    def faults_token(self) -> int:
        return self.store.query(lambda conn: conn.execute(_READ).scalar_one())

    def touch_faults(self) -> None:
        """Announce a change of the fault table (call after the change is committed)."""
        self.store.query(lambda conn: conn.execute(_TOUCH))

    def claim_slot(self) -> None:
        return None

    def release_slot(self, index: int) -> None:
        """No slots in this mode."""

    def pending_slots(self, own: int | None) -> dict[int, int]:
        return {}

    def close(self) -> None:
        """Nothing held."""
