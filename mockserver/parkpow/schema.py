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

from ..core.schema import accounts, jobs, media, metadata  # noqa: F401

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


#: every table above: ParkPow's own (the descriptor lists them)
TABLES = (pp_parkings, pp_cameras, pp_vehicles, pp_visits)
