"""Uploads still waiting for their log become logs; the ``va_uploads`` table goes.

A store written before logs were judged at acceptance may hold uploads whose log was
still to be written by a ``va.process`` job. Each becomes what an upload whose analysis
must be tried again is today: a ``pending_retry`` log that appears at the job's due time,
with a ``va.retry`` job then (its first attempt) that decodes the image and judges it.
Nothing accepted is lost; the uploads table (only ever read by that job) is dropped.

Revision ID: 0007
Revises: 0006
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_meta = sa.MetaData()
jobs = sa.Table(
    "jobs",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String),
    sa.Column("key", sa.String),
    sa.Column("due_us", sa.BigInteger),
    sa.Column("payload", sa.Text),
    sa.Column("lease_until", sa.Float),
    sa.Column("attempts", sa.Integer),
)
uploads = sa.Table(
    "va_uploads",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("camera_id", sa.Integer),
    sa.Column("media_id", sa.Integer),
    sa.Column("uploaded_us", sa.BigInteger),
)
cameras = sa.Table(
    "va_cameras",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("license_id", sa.Integer),
)
logs = sa.Table(
    "va_logs",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("license_id", sa.Integer),
    sa.Column("camera_id", sa.Integer),
    sa.Column("status", sa.String),
    sa.Column("anomalies", sa.Text),
    sa.Column("scores", sa.Text),
    sa.Column("snapshot_id", sa.Integer),
    sa.Column("tag", sa.String),
    sa.Column("created_us", sa.BigInteger),
    sa.Column("visible_us", sa.BigInteger),
)


def upgrade() -> None:
    conn = op.get_bind()
    for job in conn.execute(sa.select(jobs).where(jobs.c.kind == "va.process")).all():
        payload = json.loads(job.payload or "{}")
        upload = conn.execute(
            sa.select(uploads.c.camera_id, uploads.c.media_id, uploads.c.uploaded_us, cameras)
            .join(cameras, cameras.c.id == uploads.c.camera_id)
            .where(uploads.c.id == payload.get("upload_id"))
        ).first()
        if upload is None:  # its camera was deleted: nothing left to do, as before
            conn.execute(sa.delete(jobs).where(jobs.c.id == job.id))
            continue
        log_id = conn.execute(
            logs.insert().values(
                license_id=upload.license_id,
                camera_id=upload.camera_id,
                status="pending_retry",
                anomalies="{}",
                scores="{}",
                snapshot_id=upload.media_id,
                tag=payload.get("tag"),
                created_us=upload.uploaded_us,
                visible_us=job.due_us,
            )
        ).inserted_primary_key[0]
        retry = {"log_id": log_id, "camera_id": upload.camera_id, "attempt": 1}
        conn.execute(
            sa.update(jobs)
            .where(jobs.c.id == job.id)
            .values(
                kind="va.retry",
                key=f"va.retry:{log_id}",
                payload=json.dumps(retry, separators=(",", ":")),
                lease_until=None,
                attempts=0,
            )
        )
    op.drop_table("va_uploads")


def downgrade() -> None:
    op.create_table(
        "va_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_us", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["va_cameras.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
