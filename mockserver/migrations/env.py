"""Alembic's entry point: migrations run on the connection the store hands over.

The store calls ``alembic.command.upgrade`` with ``config.attributes["connection"]`` set,
inside its own transaction and lock (``core/migrate.py``), so every host and worker that
starts at once agrees on one upgrade (``mockserver serve`` upgrades the store at start).
"""

from alembic import context

from mockserver import vendors  # noqa: F401  (every vendor's tables join the metadata)
from mockserver.core import schema

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through mockserver (core/migrate.py), not alembic's CLI")

context.configure(
    connection=connection,
    target_metadata=schema.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
