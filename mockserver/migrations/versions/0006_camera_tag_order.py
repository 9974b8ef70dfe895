"""The order of a camera's tags as a column (PostgreSQL has no ``rowid`` to keep it).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("va_camera_tags") as batch:
        batch.add_column(sa.Column("ordinal", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE va_camera_tags SET ordinal = rowid")  # the order they had


def downgrade() -> None:
    with op.batch_alter_table("va_camera_tags") as batch:
        batch.drop_column("ordinal")
