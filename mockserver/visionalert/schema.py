"""VisionAlert's tables, on the store's one ``MetaData`` (see ``core/schema.py``).

The shared tables its rules read are re-exported here, so a VisionAlert module reaches
every table it uses through ``schema``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from ..core.schema import accounts, jobs, media, meta, metadata, throttles  # noqa: F401

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

va_references = Table(
    "va_references",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("va_cameras.id", ondelete="CASCADE"), nullable=False),
    Column("media_id", Integer, ForeignKey("media.id"), nullable=False),
    Column("created_us", BigInteger, nullable=False),  # an adopted one: when its log appears
)
Index("ix_va_references_camera", va_references.c.camera_id, va_references.c.created_us)

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
    # the instant the log appears (created + processing_delay): every read filters on it
    Column("visible_us", BigInteger, nullable=False, server_default=text("0")),
    Column("forced", Text, nullable=True),  # JSON: the forced-scores entry this log consumed
)
Index("ix_va_logs_license", va_logs.c.license_id, va_logs.c.created_us, va_logs.c.id)
Index("ix_va_logs_camera", va_logs.c.camera_id, va_logs.c.created_us, va_logs.c.id)
Index(
    "ix_va_logs_status", va_logs.c.license_id, va_logs.c.status, va_logs.c.created_us, va_logs.c.id
)
Index("ix_va_logs_visible", va_logs.c.visible_us)  # the next instant a log appears

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

image_analysis = Table(
    "image_analysis",
    metadata,
    Column("sha256", String, primary_key=True),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("scores", Text, nullable=False),  # JSON: content-only scores
    Column("signature", Text, nullable=False),  # JSON: features for position change
)


#: every table above: VisionAlert's own (the descriptor lists them)
TABLES = (
    va_licenses,
    va_cameras,
    va_tags,
    va_camera_tags,
    va_references,
    va_logs,
    va_alerts,
    va_alert_cameras,
    va_deliveries,
    va_outbox,
    va_forced_scores,
    image_analysis,
)
