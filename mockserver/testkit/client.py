"""A small Python client of the control plane (``/_mock/``).

One class, one method per control call, JSON in and out; a non-2xx reply raises
``ControlError`` with the status and the parsed body. The pytest plugin, the contract
tests and the load tests all steer the emulator through it::

    from mockserver.client import MockServerClient

    control = MockServerClient("http://127.0.0.1:8000")
    control.reset(seed="none")
    control.seed({"accounts": [{"token": "tok-a"}]})
    control.add_fault("/v1/vision-alert/create-log", status=429, times=1)
    control.advance(3600)
    control.assert_retry_after_honoured("tok-a")
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests


class SeededAccounts:
    """Reading a seed reply (``self.seeded``: ``{"accounts": [{"token", "licenses"}]}``)."""

    seeded: dict

    @property
    def tokens(self) -> list[str]:
        return [account["token"] for account in self.seeded.get("accounts", [])]

    @property
    def token(self) -> str | None:
        return self.tokens[0] if self.tokens else None

    @property
    def licenses(self) -> dict[str, int]:
        """License code -> id, for every seeded account."""
        return {
            lic["code"]: lic["id"]
            for account in self.seeded.get("accounts", [])
            for lic in account.get("licenses", [])
        }


class ControlError(Exception):
    """A control call answered with an error status."""

    def __init__(self, status: int, body: Any, method: str, path: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body}")
        self.status = status
        self.body = body


class MockServerClient:
    def __init__(
        self,
        base_url: str,
        control_token: str | None = None,
        session: requests.Session | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {control_token}"} if control_token else {}

    def call(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        """One control call; ``path`` is relative to ``/_mock``."""
        url = f"{self.base_url}/_mock{path}"
        params = {k: v for k, v in (params or {}).items() if v is not None}
        reply = self.session.request(
            method,
            url,
            json=body,
            params=params,
            headers=self.headers,
            timeout=self.timeout,
        )
        try:
            parsed = reply.json() if reply.content else None
        except ValueError:
            parsed = reply.text
        if reply.status_code >= 400:
            raise ControlError(reply.status_code, parsed, method, path)
        return parsed

    # -- core ---------------------------------------------------------------------------

    def health(self) -> dict:
        return self.call("GET", "/health")

    def reset(self, seed: str = "demo") -> dict:
        """Empty state, then the demo seed (``seed="none"``: leave it empty)."""
        return self.call("POST", "/reset", params={"seed": seed})

    def seed(self, seed: dict) -> dict:
        return self.call("POST", "/seed", seed)

    def clock(self) -> dict:
        return self.call("GET", "/clock")

    def set_clock(self, instant: str) -> dict:
        """Freeze the clock at an ISO 8601 instant."""
        return self.call("POST", "/clock", {"set": instant})

    def advance(self, seconds: float) -> dict:
        """Move the clock forward; work that falls due has run when this returns."""
        return self.call("POST", "/clock", {"advance": seconds})

    def real_time(self) -> dict:
        return self.call("POST", "/clock", {"real": True})

    def settings(self) -> dict:
        return self.call("GET", "/settings")

    def update_settings(self, **changes: float) -> dict:
        return self.call("POST", "/settings", changes)

    # -- faults -------------------------------------------------------------------------

    def add_fault(
        self,
        path: str | None = None,
        *,
        method: str | list[str] | None = None,
        token: str | None = None,
        path_regex: str | None = None,
        status: int | None = None,
        body: Any = None,
        headers: dict | None = None,
        latency_ms: float | list[float] | None = None,
        drop: bool = False,
        truncate: bool = False,
        malformed: bool = False,
        times: int | None = None,
        rate: float | None = None,
        seed: int | str | None = None,
    ) -> dict:
        """Add a fault; give exactly one action (``status``, ``latency_ms``, ``drop``,
        ``truncate`` or ``malformed``). Use ``add_fault_spec`` for the raw form."""
        match = {
            k: v
            for k, v in {
                "path": path,
                "path_regex": path_regex,
                "method": method,
                "token": token,
            }.items()
            if v is not None
        }
        actions = []
        if status is not None:
            action: dict = {"type": "status", "status": status}
            if body is not None:
                action["body"] = body
            if headers:
                action["headers"] = headers
            actions.append(action)
        if latency_ms is not None:
            actions.append({"type": "latency", "ms": latency_ms})
        actions += [{"type": kind} for kind, on in (
            ("drop", drop), ("truncate", truncate), ("malformed", malformed)
        ) if on]  # fmt: skip
        if len(actions) != 1:
            raise ValueError(
                "give exactly one action: status, latency_ms, drop, truncate, malformed"
            )
        spec = {"match": match, "action": actions[0], "times": times, "rate": rate}
        if seed is not None:
            spec["seed"] = seed
        return self.add_fault_spec(spec)

    def add_fault_spec(self, spec: dict) -> dict:
        return self.call("POST", "/faults", spec)

    def faults(self) -> list[dict]:
        return self.call("GET", "/faults")["faults"]

    def fault(self, fault_id: int) -> dict:
        return self.call("GET", f"/faults/{fault_id}")

    def remove_fault(self, fault_id: int) -> dict:
        return self.call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> dict:
        return self.call("DELETE", "/faults")

    # -- journal and assertions ---------------------------------------------------------

    def requests(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | str | None = None,
        token: str | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """Journal entries (oldest first); ``path`` is a prefix or a glob."""
        params = {
            "method": method,
            "path": path,
            "status": status,
            "token": token,
            "since": since,
            "limit": limit,
        }
        return self.call("GET", "/requests", params=params)["requests"]

    def clear_requests(self) -> dict:
        return self.call("DELETE", "/requests")

    def assertion(self, name: str, token: str | None = None, path: str | None = None, **params):
        return self.call(
            "GET", f"/assertions/{name}", params={"token": token, "path": path, **params}
        )

    def _assert(self, name: str, token: str | None, path: str | None, params: dict) -> dict:
        result = self.assertion(name, token, path, **params)
        if not result["passed"]:
            raise AssertionError(f"{name}: {result['message']} details: {result['details']}")
        return result

    def assert_retry_after_honoured(
        self, token: str | None = None, path: str | None = None, **params
    ) -> dict:
        """Raise ``AssertionError`` unless every Retry-After given to ``token`` was honoured."""
        return self._assert("retry_after_honoured", token, path, params)

    def assert_backoff_after_5xx(
        self, token: str | None = None, path: str | None = None, **params
    ) -> dict:
        """Raise unless retries after 5xx waited (``min_seconds``) and did not shrink."""
        return self._assert("backoff_after_5xx", token, path, params)

    def assert_followed_next_to_end(
        self, token: str | None = None, path: str | None = None, **params
    ) -> dict:
        """Raise unless every ``next`` link handed to ``token`` was followed."""
        return self._assert("followed_next_to_end", token, path, params)

    # -- scenario controls --------------------------------------------------------------

    def rate_limit(self, token: str) -> float | None:
        return self.call("GET", f"/accounts/{token}/rate-limit")["rate_limit_per_second"]

    def set_rate_limit(self, token: str, per_second: float | None) -> dict:
        """The account's create-log throttle; ``None`` turns it off."""
        return self.call(
            "POST", f"/accounts/{token}/rate-limit", {"rate_limit_per_second": per_second}
        )

    # -- VisionAlert scenario controls (/_mock/visionalert/...) ---------------------------

    def _camera_path(self, license_id: int, serial: str) -> str:
        return f"/visionalert/licenses/{license_id}/cameras/{quote(serial, safe='')}"

    def camera_state(self, license_id: int, serial: str) -> dict:
        """Everything about a camera the public API does not show (all scores included)."""
        return self.call("GET", self._camera_path(license_id, serial))

    def thresholds(self, license_id: int, serial: str) -> dict:
        return self.call("GET", self._camera_path(license_id, serial) + "/thresholds")

    def set_thresholds(self, license_id: int, serial: str, thresholds: dict) -> dict:
        """Per anomaly type, e.g. ``{"Blur": 0.7}``; ``None`` goes back to the default."""
        return self.call("POST", self._camera_path(license_id, serial) + "/thresholds", thresholds)

    def force_scores(self, license_id: int, serial: str, scores: dict, count: int = 1) -> dict:
        """The camera's next ``count`` analyses score ``scores`` (e.g. ``{"Blur": 0.9}``)."""
        body = {"scores": scores, "count": count}
        return self.call("POST", self._camera_path(license_id, serial) + "/forced-scores", body)

    def fail_processing(self, license_id: int, serial: str, count: int = 1) -> dict:
        """The camera's next ``count`` analyses fail (their logs go ``pending_retry``)."""
        body = {"fail": True, "count": count}
        return self.call("POST", self._camera_path(license_id, serial) + "/forced-scores", body)

    def forced_scores(self, license_id: int, serial: str) -> dict:
        return self.call("GET", self._camera_path(license_id, serial) + "/forced-scores")

    def clear_forced_scores(self, license_id: int, serial: str) -> dict:
        return self.call("DELETE", self._camera_path(license_id, serial) + "/forced-scores")

    def resolve_review(self, log_id: int, status: str) -> dict:
        """Resolve an ``under_review`` log to ``normal`` or ``anomaly``."""
        return self.call("POST", f"/visionalert/logs/{log_id}/resolve", {"status": status})

    def notifications(self, license_id: int) -> dict:
        return self.call("GET", f"/visionalert/licenses/{license_id}/notifications")

    def set_notifications(self, license_id: int, **channels: str | None) -> dict:
        """``webhook_url=`` and/or ``notify_email=`` (``None`` removes one)."""
        return self.call("POST", f"/visionalert/licenses/{license_id}/notifications", channels)

    def alerts(self, license_id: int | None = None) -> Any:
        """Every alert, pending ones included."""
        return self.call("GET", "/visionalert/alerts", params={"license_id": license_id})

    def deliveries(self, alert_id: int | None = None) -> Any:
        """Every webhook/e-mail delivery attempt."""
        return self.call("GET", "/visionalert/deliveries", params={"alert_id": alert_id})

    def outbox(self) -> Any:
        """The emulated e-mail outbox."""
        return self.call("GET", "/visionalert/outbox")
