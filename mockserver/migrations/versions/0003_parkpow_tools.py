"""ParkPow's tools: visit data, vehicle tags, imports, alerts (store version 5).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pp_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("license_plate", sa.String(), nullable=False),
        sa.Column("alert_template_id", sa.Integer(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pp_alerts_account", "pp_alerts", ["account_id", "id"], unique=False)
    op.create_table(
        "pp_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("remove", sa.Boolean(), nullable=False),
        sa.Column("csv", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id"),
    )
    op.create_table(
        "pp_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name", name="uq_pp_tag"),
    )
    op.create_table(
        "pp_vehicle_tags",
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tag_id"], ["pp_tags.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vehicle_id"], ["pp_vehicles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("vehicle_id", "tag_id"),
    )
    op.create_index("ix_pp_vehicle_tags_tag", "pp_vehicle_tags", ["tag_id"], unique=False)
    op.create_table(
        "pp_visit_data",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("start_data", sa.Text(), nullable=True),
        sa.Column("end_data", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["visit_id"], ["pp_visits.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("visit_id"),
    )


def downgrade() -> None:
    for name in ("pp_visit_data", "pp_vehicle_tags", "pp_tags", "pp_imports", "pp_alerts"):
        op.drop_table(name)
