"""ParkPow's tables, on the store's one ``MetaData`` (see ``core/schema.py``).

The shared tables its rules read are re-exported here, so a ParkPow module reaches every
table it uses through ``schema``.
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
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ..core.schema import accounts, jobs, media, metadata, tokens  # noqa: F401

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


# --- ParkPow, beyond the published documentation (the vendor's own tools) ---------------

pp_visit_data = Table(
    "pp_visit_data",
    metadata,
    # the raw ALPR results a visit started and ended with (the live reply's start_data)
    Column("visit_id", Integer, ForeignKey("pp_visits.id", ondelete="CASCADE"), primary_key=True),
    Column("start_data", Text, nullable=True),  # JSON
    Column("end_data", Text, nullable=True),  # JSON
)

pp_tags = Table(
    "pp_tags",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String, nullable=False),
    UniqueConstraint("account_id", "name", name="uq_pp_tag"),
)

pp_vehicle_tags = Table(
    "pp_vehicle_tags",
    metadata,
    Column(
        "vehicle_id", Integer, ForeignKey("pp_vehicles.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("tag_id", Integer, ForeignKey("pp_tags.id", ondelete="CASCADE"), primary_key=True),
)
Index("ix_pp_vehicle_tags_tag", pp_vehicle_tags.c.tag_id)

pp_imports = Table(
    "pp_imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("task_id", String, nullable=False, unique=True),
    Column("remove", Boolean, nullable=False),
    Column("csv", Text, nullable=True),  # dropped once the import ran
    Column("outcome", Text, nullable=True),  # JSON {"info": ...} or {"error": ...}; None: pending
    Column("created_us", BigInteger, nullable=False),
)

pp_alerts = Table(
    "pp_alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("visit_id", Integer, nullable=False),  # kept when the visit is deleted
    Column("license_plate", String, nullable=False),
    Column("alert_template_id", Integer, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)
Index("ix_pp_alerts_account", pp_alerts.c.account_id, pp_alerts.c.id)


#: every table above: ParkPow's own (the descriptor lists them)
TABLES = (
    pp_parkings,
    pp_cameras,
    pp_vehicles,
    pp_visits,
    pp_visit_data,
    pp_tags,
    pp_vehicle_tags,
    pp_imports,
    pp_alerts,
)
