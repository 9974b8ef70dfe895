"""What a store shared by several hosts needs: media bytes in the database, and on
PostgreSQL the two counters every host reads (world version for read caches, faults token
for fault-list caches).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SEQUENCES = ("mockserver_world_version", "mockserver_faults_token")


def upgrade() -> None:
    op.create_table(
        "media_content",
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for name in SEQUENCES:
            op.execute(f"CREATE SEQUENCE IF NOT EXISTS {name}")
            op.execute(f"SELECT nextval('{name}')")  # last_value is then always set


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in SEQUENCES:
            op.execute(f"DROP SEQUENCE IF EXISTS {name}")
    op.drop_table("media_content")
