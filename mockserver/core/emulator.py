"""The emulator object one app holds: config, backend (store, journal, media, shared
state), clock, due work, settings, the tally of what happened.

Everything that serves the emulated world receives this object as an argument (routes
fetch it once from their app); it knows its vendors (``core.vendor``) and runs their due
work.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading

from flask import has_request_context
from sqlalchemy import Connection, select

from ..config import RUNTIME_SETTINGS, Config
from . import outages, schema
from .backends import open_backend
from .backlog import backlog
from .clock import Clock
from .duework import DueWork
from .readcache import cached_value
from .tally import Tally
from .timefmt import zone
from .vendor import Vendor

log = logging.getLogger(__name__)


class Emulator:
    def __init__(self, config: Config, vendors: tuple[Vendor, ...] = ()) -> None:
        self.config = config
        self.vendors = vendors
        self._tmpdir = None
        if not config.data_dir:
            self._tmpdir = tempfile.mkdtemp(prefix="mockserver-")
            config.data_dir = self._tmpdir
        #: which database holds the world, and every part that depends on it
        self.backend = open_backend(config)
        self.store = self.backend.store
        self.journal_store = self.backend.journal_store
        self.media = self.backend.media
        self.clock = Clock(self.store)
        self.duework = DueWork(self.store, emulator=self)
        for vendor in vendors:
            for job_kind in vendor.jobs:
                self.duework.register(job_kind)
        self.server_tz = zone(config.server_timezone)
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.background = []  # objects with .close(), e.g. the webhook sender
        #: counts of what happened, summed over every process (``/_mock/metrics``)
        self.tally = Tally(self.journal_store, self.store)
        self.background.append(self.tally)
        #: the ``/_mock/`` plane's per-process parts (journal, faults); set by the control
        #: plane's assembly, ``None`` in an emulator built without it
        self.control_plane = None

    # -- time and due work --------------------------------------------------------------

    def now_us(self) -> int:
        return self.clock.now_us()

    def catch_up(self, timeout: float | None = None) -> int:
        """Run the work that fell due up to now (not the background kinds), waiting at most
        ``timeout`` seconds (``duework.SETTLE_SECONDS``) for what other workers hold: the
        control plane's clock moves. Returns the clock's reading taken before the work ran."""
        return self.duework.catch_up(timeout).now_us

    def advance(self, seconds: float, timeout: float | None = None) -> None:
        """Move the clock forward, then run what fell due; each job sees its own due time
        as "now" (the control plane's clock call and the dashboard's buttons)."""
        target = self.store.transact(lambda conn: self.clock.advance(conn, seconds))
        self.duework.settle(target, timeout)  # also waits for jobs another worker runs

    def wake_background(self) -> None:
        self._wake.set()

    def start_background(self) -> None:
        """The tick: runs due work (webhooks included) while time passes, in this process."""
        if self._ticker is not None or self.config.tick_seconds <= 0:
            return
        self._ticker = threading.Thread(target=self._tick, name="mockserver-tick", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.config.tick_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.duework.run_due(self.clock.now_us(), background=True)
                self._sample_lag()
            except Exception as error:  # the tick survives a bad moment (a reset mid-run)
                if self._stop.is_set():
                    break  # closed under a run that outlived ``close``'s wait
                outage = outages.classify(error)
                if outage is None:
                    log.exception("background tick failed")
                    continue
                self.duework.outage_seen()  # paused: it resumes when the database answers
                outages.note(outage, error, "background tick")

    def _sample_lag(self) -> None:
        """The due work's lag, once per tick, for the rates over time (its peak kept; no
        write while nothing is late)."""
        due = self.store.query(lambda conn: backlog(conn, self.clock.now_us(conn)))
        if due.lag_seconds > 0:
            self.tally.peak("due_lag", (), due.lag_seconds)

    # -- run-time settings --------------------------------------------------------------

    def settings(self, conn: Connection | None = None) -> dict[str, float]:
        if conn is None:
            if has_request_context():  # read once per store version, not once per call
                produce = lambda: self.store.query(self.settings)  # noqa: E731
                return dict(cached_value(("settings",), produce, configuration=True))
            return self.store.query(self.settings)
        values = {name: getattr(self.config, name) for name in RUNTIME_SETTINGS}
        for row in conn.execute(select(schema.settings)):
            if row.key in values:
                values[row.key] = json.loads(row.value)
        return values

    def set_settings(self, conn: Connection, changes: dict) -> None:
        for key, value in changes.items():
            conn.execute(schema.settings.delete().where(schema.settings.c.key == key))
            conn.execute(schema.settings.insert().values(key=key, value=json.dumps(value)))
        now_us = self.clock.now_us(conn)
        for vendor in self.vendors:
            if vendor.settings_changed is not None:
                vendor.settings_changed(self, conn, changes, now_us)

    # -- lifecycle ----------------------------------------------------------------------

    def recover(self) -> dict[str, int]:
        """Start-up after a crash: release the dead workers' job claims and remove media
        files no row names. Run once by the server before any worker starts."""
        leases = 0
        if self.backend.leases_released_at_start:
            leases = self.store.transact(self.duework.release_leases)
        files = self.store.transact(self.media.sweep_orphans)
        return {"leases": leases, "files": len(files)}

    def wipe(self) -> None:
        """Empty state: every row and every media file."""
        self.store.transact(self.store.clear)
        self.journal_store.transact(self.journal_store.clear)
        self.media.wipe()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        for part in self.background:
            part.close()
        self.backend.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
