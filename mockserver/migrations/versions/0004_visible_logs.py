"""Logs written at acceptance and visible ``processing_delay`` later (store version 6).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("va_logs") as batch:
        batch.add_column(
            sa.Column("visible_us", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("forced", sa.Text(), nullable=True))
    op.execute("UPDATE va_logs SET visible_us = created_us")
    op.create_index("ix_va_logs_visible", "va_logs", ["visible_us"], unique=False)
    op.create_index(
        "ix_va_references_camera", "va_references", ["camera_id", "created_us"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_va_references_camera", table_name="va_references")
    op.drop_index("ix_va_logs_visible", table_name="va_logs")
    with op.batch_alter_table("va_logs") as batch:
        batch.drop_column("forced")
        batch.drop_column("visible_us")
