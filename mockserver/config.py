"""Configuration: one dataclass, filled from defaults, environment variables and CLI flags.

Every setting has an environment variable ``MOCKSERVER_<NAME>`` so that worker processes
started by the WSGI server build exactly the same app as the process that launched them.
The README's configuration table lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass
class Config:
    data_dir: str = ""  # empty: a throw-away directory (ephemeral)
    database_url: str = ""  # postgresql://user@host/db: the world there; empty: SQLite files
    media_url: str = ""  # file:///dir | s3://bucket/prefix | database; empty: files in data_dir
    s3_endpoint: str = ""  # e.g. http://minio:9000 for s3:// media; empty: boto3's default
    seed: str = "demo"  # demo | none | path to a seed JSON file
    public_base_url: str = ""  # e.g. https://emulator.example.com; empty: from the request
    server_timezone: str = "UTC"
    upload_limit: int = 10 * 1024 * 1024  # bytes
    pixel_limit: int = 40_000_000  # decoded pixels per image (decompression-bomb guard)
    control_enabled: bool = True
    control_token: str = ""  # when set, /_mock/ requires "Authorization: Bearer <token>"
    tick_seconds: float = 1.0  # background tick that runs due work while the clock runs
    journal_size: int = 2000  # request journal ring size (rows)
    webhook_timeout: float = 5.0  # seconds per webhook attempt
    webhook_queue: int = 1000  # max webhook deliveries waiting (store-wide), retries included
    db_timeout: float = 5.0  # seconds a host waits for PostgreSQL (connect, each statement)
    retry_after: int = 2  # seconds a 503/507 (database unreachable, disk full) asks to wait
    read_cache: bool = True  # reuse a read reply while the store is unchanged (per thread)
    metrics: bool = True  # count requests for /_mock/metrics and the dashboard's rates
    # Emulator-defined VisionAlert rules (defaults; changeable at run time via /_mock/settings)
    processing_delay: float = 5.0
    camera_window: float = 900.0
    offline_after: float = 3600.0
    alert_window: float = 900.0
    review_band: float = 0.05
    retry_delay: float = 60.0
    webhook_retries: int = 5
    webhook_backoff: float = 30.0
    default_threshold: float = 0.5
    # Bounded storage (changeable at run time): full-size frames of each camera's latest
    # logs; older logs keep a 320-px JPEG. A total byte cap (0: none) on every stored image.
    media_retention: int = 4
    media_byte_cap: int = 0
    # Emulator-defined ParkPow rules for what its own tools call (changeable at run time)
    webhook_min_score: float = 0.0  # webhook-receiver: a plate read below it opens nothing
    visit_list_form: str = "auto"  # auto | live | documented (see README)
    import_delay: float = 5.0  # seconds of emulator time an import-vehicles task takes
    # Mutant mode: deliberate deviations from the vendor contract (comma-separated names)
    mutants: str = ""

    @classmethod
    def from_env(cls, **overrides) -> Config:
        cfg = cls()
        for f in fields(cls):
            raw = os.environ.get(env_name(f.name))
            if raw is not None:
                setattr(cfg, f.name, _coerce(type(getattr(cfg, f.name)), raw))
        for name, value in overrides.items():
            if value is not None:
                setattr(cfg, name, value)
        return cfg

    def to_env(self) -> dict[str, str]:
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            env[env_name(f.name)] = (
                ("1" if value else "0") if isinstance(value, bool) else str(value)
            )
        return env


def env_name(name: str) -> str:
    return "MOCKSERVER_" + name.upper()


def _coerce(kind: type, raw: str):
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind is int:
        return int(raw)
    if kind is float:
        return float(raw)
    return raw


#: The run-time tunable rules, stored in the ``settings`` table so every worker sees them.
RUNTIME_SETTINGS = (
    "processing_delay",
    "camera_window",
    "offline_after",
    "alert_window",
    "review_band",
    "retry_delay",
    "webhook_retries",
    "webhook_backoff",
    "default_threshold",
    "media_retention",
    "media_byte_cap",
    "webhook_min_score",
    "visit_list_form",
    "import_delay",
)

#: run-time settings that take one of a few words instead of a number
SETTING_CHOICES: dict[str, tuple[str, ...]] = {
    "visit_list_form": ("auto", "live", "documented"),
}

#: run-time settings whose bound is not the usual one (ten years of seconds)
SETTING_LIMITS: dict[str, int] = {"media_byte_cap": 10**15}
