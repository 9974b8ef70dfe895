"""PostgreSQL: a version of the world's configuration, read with the clock by every request;
large values stored without compression.

The settings, the accounts and their tokens, the faults and the ``meta`` rows (mutant
switches, the webhook base URL) change seldom, while uploads change the world many times a
second. A statement trigger on each of those tables steps ``meta.config_version`` in the
transaction that changes them, so a host caches what it read of them until that value
moves, with no query per request. (SQLite: nothing to add; its workers key such caches on
the file's data version.)

An image's kept analysis (26 KB of base64 and block statistics) and image bytes barely
compress: stored as they are (``STORAGE EXTERNAL``), an upload spends no CPU trying.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("settings", "accounts", "tokens", "faults", "meta")
UNCOMPRESSED = (("image_analysis", "signature"), ("media_content", "content"))
FUNCTION = """
CREATE OR REPLACE FUNCTION mockserver_config_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 THEN
        UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'config_version';
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "INSERT INTO meta (key, value) VALUES ('config_version', '1') ON CONFLICT DO NOTHING"
    )
    op.execute(FUNCTION)
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER mockserver_config_{table} AFTER INSERT OR UPDATE OR DELETE"
            f" OR TRUNCATE ON {table} FOR EACH STATEMENT"
            " EXECUTE FUNCTION mockserver_config_changed()"
        )
    for table, column in UNCOMPRESSED:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in UNCOMPRESSED:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTENDED")
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS mockserver_config_{table} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS mockserver_config_changed()")
    op.execute("DELETE FROM meta WHERE key = 'config_version'")
