"""Cameras deleted while the ``deleted_camera_reuse`` mutant was on (store version 4, the
last one kept by hand).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mutant_deletions",
        sa.Column("license", sa.String(), nullable=False),
        sa.Column("serial", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("license", "serial"),
    )


def downgrade() -> None:
    op.drop_table("mutant_deletions")
