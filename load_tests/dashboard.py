"""Dashboard: people paging through cameras, logs and alerts, following ``next`` to the end.

    locust -f load_tests/dashboard.py --host http://127.0.0.1:8000 --token demo-token \
        --headless -u 20 -r 5 -t 2m

Filters: dates (date and timestamp forms), status, serial, tag, sent. ``--max-pages``
caps how far one listing is followed (0: to the end).
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from locust import FastHttpUser, between, task

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from load_tests.options import plan, token_header  # noqa: E402

BASE = "/v1/vision-alert"
CAMERA_STATUSES = ("normal", "anomaly", "under_review", "offline", "config_issue", "no_data")
LOG_STATUSES = ("normal", "anomaly", "under_review", "offline", "config_issue", "pending_retry")


class DashboardUser(FastHttpUser):
    """Someone at the VisionAlert dashboard of one account."""

    weight = 1
    wait_time = between(1, 5)

    def on_start(self) -> None:
        self.run = plan(self.environment)
        self.rng = random.Random()
        self.headers = token_header(self.environment)
        self.licenses: list[dict] = []
        self.serials: list[str] = []
        self.load_licenses()

    def load_licenses(self) -> None:
        with self.client.get(
            f"{BASE}/licenses/", headers=self.headers, name=f"{BASE}/licenses/", catch_response=True
        ) as reply:
            if reply.status_code == 200:
                self.licenses = reply.json()
            else:
                reply.failure(f"{reply.status_code} {(reply.text or '')[:200]}")

    def license(self) -> dict | None:
        return self.rng.choice(self.licenses) if self.licenses else None

    # -- listings -----------------------------------------------------------------------

    @task(3)
    def cameras(self) -> None:
        lic = self.license()
        if lic is None:
            return
        params = {}
        if self.rng.random() < 0.4:
            params["status"] = self.rng.choice(CAMERA_STATUSES)
        rows = self.walk(f"{BASE}/{lic['id']}/cameras/", params, f"{BASE}/[license]/cameras/")
        if rows:
            self.serials = [row["serial"] for row in rows[:200]]

    @task(4)
    def license_logs(self) -> None:
        lic = self.license()
        if lic is None:
            return
        params = self.date_filter()
        if self.rng.random() < 0.3:
            params["status"] = self.rng.choice(LOG_STATUSES)
        if self.serials and self.rng.random() < 0.3:
            params["serial"] = self.rng.choice(self.serials)
        if self.rng.random() < 0.3:
            params["tag"] = f"site-{self.rng.randrange(self.run.sites)}"
        self.walk(f"{BASE}/{lic['id']}/logs/", params, f"{BASE}/[license]/logs/")

    @task(2)
    def camera_logs(self) -> None:
        lic = self.license()
        if lic is None or not self.serials:
            return
        serial = self.rng.choice(self.serials)
        params = self.date_filter()
        if self.rng.random() < 0.3:
            params["status"] = self.rng.choice(LOG_STATUSES)
        self.walk(
            f"{BASE}/{lic['id']}/cameras/{serial}/logs/",
            params,
            f"{BASE}/[license]/cameras/[serial]/logs/",
        )

    @task(2)
    def alerts(self) -> None:
        lic = self.license()
        if lic is None:
            return
        params = self.date_filter()
        if self.rng.random() < 0.3:
            params["sent"] = self.rng.choice(("true", "false"))
        if self.rng.random() < 0.2:
            params["license"] = lic["code"]
        self.walk(f"{BASE}/{lic['id']}/alerts/", params, f"{BASE}/[license]/alerts/")

    # -- helpers ------------------------------------------------------------------------

    def date_filter(self) -> dict[str, str]:
        """Now and then a period: whole days (date form) or exact instants (timestamps)."""
        now = datetime.fromtimestamp(time.time() + self.run.clock_offset, UTC)
        params: dict[str, str] = {}
        if self.rng.random() < 0.5:
            start = now - timedelta(days=self.rng.randint(0, 7))
            if self.rng.random() < 0.5:
                params["start"] = start.date().isoformat()
                params["end"] = now.date().isoformat()
            else:
                params["start"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
                params["end"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.rng.random() < 0.3:
            params["page_size"] = str(self.rng.choice((20, 50, 200)))
        return params

    def walk(self, path: str, params: dict, name: str) -> list[dict]:
        """Follow ``next`` from the first page to the last (or ``--max-pages``)."""
        rows: list[dict] = []
        url: str | None = path
        pages = 0
        while url:
            with self.client.get(
                url,
                params=params if pages == 0 else None,
                headers=self.headers,
                name=name if pages == 0 else name + " (next)",
                catch_response=True,
            ) as reply:
                if reply.status_code != 200:
                    reply.failure(f"{reply.status_code} {(reply.text or '')[:200]}")
                    return rows
                page = reply.json()
            rows.extend(page.get("results", []))
            url = page.get("next")
            pages += 1
            if self.run.max_pages and pages >= self.run.max_pages:
                break
        return rows
