"""The whole store schema in one place.

Times are integers: microseconds since the Unix epoch, UTC (``*_us`` columns). That keeps
range filters and keyset pagination on plain indexed integer comparisons.
Any change needs an Alembic revision in ``mockserver/migrations/versions`` (both dialects).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)

clock = Table(
    "clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("frozen_us", BigInteger, nullable=True),  # set: the clock stands still there
    Column("offset_us", BigInteger, nullable=False, server_default=text("0")),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("products", Text, nullable=False),  # JSON list: "parkpow", "visionalert"
    Column("rate_limit_per_second", Float, nullable=True),  # None: no per-account throttle
    Column("created_us", BigInteger, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token", String, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
)

throttles = Table(
    "throttles",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("scope", String, primary_key=True),
    Column("history", Text, nullable=False),  # JSON list of request times (us), newest first
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String, nullable=False),
    Column("key", String, nullable=True, unique=True),  # at most one pending job per key
    Column("due_us", BigInteger, nullable=False),
    Column("payload", Text, nullable=False, server_default=text("'{}'")),
    Column("lease_until", Float, nullable=True),  # wall-clock seconds; None: not claimed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
)
Index("ix_jobs_due", jobs.c.due_us, jobs.c.id)

media = Table(
    "media",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),  # random, unguessable URL name
    Column("sha256", String, nullable=False),
    Column("content_type", String, nullable=False),
    Column("size", Integer, nullable=False),
    Column("kind", String, nullable=False),  # camera_snapshot, camera_reference, parkpow
    Column("created_us", BigInteger, nullable=False),
)
Index("ix_media_sha", media.c.sha256)

#: media bytes, when they live in the database (PostgreSQL: every host reaches them)
media_content = Table(
    "media_content",
    metadata,
    Column("sha256", String, primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("stored_at", Float, nullable=False),  # wall-clock seconds, for the orphan sweep
)

image_analysis = Table(
    "image_analysis",
    metadata,
    Column("sha256", String, primary_key=True),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("scores", Text, nullable=False),  # JSON: content-only scores
    Column("signature", Text, nullable=False),  # JSON: features for position change
)

# --- VisionAlert -------------------------------------------------------------------------

va_licenses = Table(
    "va_licenses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("code", String, nullable=False, unique=True),
    Column("size", Integer, nullable=False),
    Column("va_type", String, nullable=False),
    Column("expiration_us", BigInteger, nullable=False),
    Column("webhook_url", String, nullable=True),
    Column("notify_email", String, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("modified_us", BigInteger, nullable=False),
)
Index("ix_va_licenses_account", va_licenses.c.account_id, va_licenses.c.created_us)

va_cameras = Table(
    "va_cameras",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("license_id", Integer, ForeignKey("va_licenses.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("serial", String, nullable=False),
    Column("name", String, nullable=False),
    Column("notes", Text, nullable=False, server_default=text("''")),
    Column("latest_status", String, nullable=True),
    Column("thresholds", Text, nullable=False, server_default=text("'{}'")),  # JSON
    Column("reference_id", Integer, nullable=True),  # va_references.id of the current one
    Column("last_accepted_us", BigInteger, nullable=True),  # per-camera upload window
    Column("created_us", BigInteger, nullable=False),
    Column("modified_us", BigInteger, nullable=False),
    UniqueConstraint("account_id", "serial", name="uq_va_camera_serial"),
)
Index("ix_va_cameras_page", va_cameras.c.license_id, va_cameras.c.created_us, va_cameras.c.id)

va_tags = Table(
    "va_tags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_va_tag"),
)

va_camera_tags = Table(
    "va_camera_tags",
    metadata,
    Column("camera_id", Integer, ForeignKey("va_cameras.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("va_tags.id", ondelete="CASCADE"), primary_key=True),
    Column("ordinal", Integer, nullable=True),  # assignment order within the camera
)
Index("ix_va_camera_tags_tag", va_camera_tags.c.tag_id)

va_uploads = Table(
    "va_uploads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("va_cameras.id", ondelete="CASCADE"), nullable=False),
    Column("media_id", Integer, ForeignKey("media.id"), nullable=False),
    Column("uploaded_us", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
)

va_references = Table(
    "va_references",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("va_cameras.id", ondelete="CASCADE"), nullable=False),
    Column("media_id", Integer, ForeignKey("media.id"), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

va_logs = Table(
    "va_logs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("license_id", Integer, ForeignKey("va_licenses.id", ondelete="CASCADE"), nullable=False),
    Column("camera_id", Integer, ForeignKey("va_cameras.id", ondelete="CASCADE"), nullable=False),
    Column("upload_id", Integer, nullable=True, unique=True),  # one log per accepted upload
    Column("status", String, nullable=False),
    Column("anomalies", Text, nullable=False, server_default=text("'{}'")),  # JSON, above threshold
    Column("scores", Text, nullable=False, server_default=text("'{}'")),  # JSON, all four
    Column("snapshot_id", Integer, ForeignKey("media.id"), nullable=True),
    Column("tag", String, nullable=True),
    Column("created_us", BigInteger, nullable=False),
)
Index("ix_va_logs_license", va_logs.c.license_id, va_logs.c.created_us, va_logs.c.id)
Index("ix_va_logs_camera", va_logs.c.camera_id, va_logs.c.created_us, va_logs.c.id)
Index(
    "ix_va_logs_status", va_logs.c.license_id, va_logs.c.status, va_logs.c.created_us, va_logs.c.id
)

va_alerts = Table(
    "va_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("license_id", Integer, ForeignKey("va_licenses.id", ondelete="CASCADE"), nullable=False),
    Column("sent", Boolean, nullable=False, server_default=false()),
    Column("emitted", Boolean, nullable=False, server_default=false()),
    Column("opened_us", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),  # when it is (or will be) emitted
)
Index("ix_va_alerts_page", va_alerts.c.license_id, va_alerts.c.created_us, va_alerts.c.id)

va_alert_cameras = Table(
    "va_alert_cameras",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("va_alerts.id", ondelete="CASCADE"), nullable=False),
    Column("serial", String, nullable=False),
    Column("name", String, nullable=False),
    Column("status", String, nullable=False),  # display label: Anomaly, Offline, Normal
    Column("anomalies", Text, nullable=False, server_default=text("'{}'")),
    Column("snapshot_id", Integer, ForeignKey("media.id"), nullable=True),
    Column("reference_media_id", Integer, ForeignKey("media.id"), nullable=True),
)
Index("ix_va_alert_cameras_alert", va_alert_cameras.c.alert_id)

va_deliveries = Table(
    "va_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("va_alerts.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String, nullable=False),  # webhook | email
    Column("target", String, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("at_us", BigInteger, nullable=False),
)

va_outbox = Table(
    "va_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("va_alerts.id", ondelete="CASCADE"), nullable=False),
    Column("to", String, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
)

va_forced_scores = Table(
    "va_forced_scores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("va_cameras.id", ondelete="CASCADE"), nullable=False),
    Column("scores", Text, nullable=True),  # JSON; None with fail=True: a processing fault
    Column("fail", Boolean, nullable=False, server_default=false()),
    Column("remaining", Integer, nullable=False),
)

# --- ParkPow -----------------------------------------------------------------------------

pp_parkings = Table(
    "pp_parkings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String, nullable=False),
    Column("parking_spaces", Integer, nullable=False, server_default=text("0")),
    Column("absent_timer", Integer, nullable=False, server_default=text("3")),  # minutes
    UniqueConstraint("account_id", "name", name="uq_pp_parking"),
)

pp_cameras = Table(
    "pp_cameras",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("parking_id", Integer, ForeignKey("pp_parkings.id", ondelete="CASCADE"), nullable=False),
    Column("code", String, nullable=False),
    Column("name", String, nullable=False),
    Column("type", String, nullable=False),  # ENTRANCE | EXIT | SPOT
    Column("notes", Text, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("latitude", Float, nullable=True),
    UniqueConstraint("account_id", "code", name="uq_pp_camera"),
)

pp_vehicles = Table(
    "pp_vehicles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("license_plate", String, nullable=False),
    Column("payment_status", String, nullable=True),
    *[Column(f"field{i}", Text, nullable=True) for i in range(1, 7)],
    UniqueConstraint("account_id", "license_plate", name="uq_pp_vehicle"),
)

pp_visits = Table(
    "pp_visits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("parking_id", Integer, ForeignKey("pp_parkings.id", ondelete="CASCADE"), nullable=False),
    Column("license_plate", String, nullable=False),
    Column("open", Boolean, nullable=False),
    Column("start_cam_id", Integer, ForeignKey("pp_cameras.id"), nullable=True),
    Column("end_cam_id", Integer, ForeignKey("pp_cameras.id"), nullable=True),
    Column("start_media_id", Integer, ForeignKey("media.id"), nullable=True),
    Column("end_media_id", Integer, ForeignKey("media.id"), nullable=True),
    Column("start_us", BigInteger, nullable=False),
    Column("end_us", BigInteger, nullable=True),
    Column("last_seen_us", BigInteger, nullable=False),
    Column("start_prediction", Text, nullable=True),  # JSON
    Column("end_prediction", Text, nullable=True),  # JSON
)
Index("ix_pp_visits_start", pp_visits.c.account_id, pp_visits.c.start_us, pp_visits.c.id)
Index(
    "uq_pp_visits_open",
    pp_visits.c.account_id,
    pp_visits.c.parking_id,
    pp_visits.c.license_plate,
    unique=True,
    sqlite_where=pp_visits.c.open == True,  # noqa: E712
    postgresql_where=pp_visits.c.open == True,  # noqa: E712
)

# --- Control plane -----------------------------------------------------------------------

faults = Table(
    "faults",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("spec", Text, nullable=False),  # JSON, see control/faults.py
    Column("remaining", Integer, nullable=True),  # None: until removed
    Column("hits", Integer, nullable=False, server_default=text("0")),
    Column("created_us", BigInteger, nullable=False),
    Column("seen", Integer, nullable=False, server_default=text("0")),  # matching requests
)

# --- The request journal: diagnostics, not world state --------------------------------------
# Kept in its own file (``journal.sqlite3``): its steady writes neither queue behind the
# world's writers nor change the world's data version (which read caches key on).

journal_metadata = MetaData()

journal = Table(
    "journal",
    journal_metadata,
    Column("id", Integer, primary_key=True),
    Column("at_us", BigInteger, nullable=False),
    Column("method", String, nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("token", String, nullable=True),
    Column("body", Text, nullable=True),
    Column("fault_id", Integer, nullable=True),
    Column("wall_us", BigInteger, nullable=True),  # real time of arrival (client behaviour)
    Column("retry_after", Float, nullable=True),  # the reply's Retry-After, seconds
    Column("next_url", Text, nullable=True),  # paginated reply: its next ("" = none)
)
