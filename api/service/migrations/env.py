"""Alembic's entry point: migrations run on the connection `db.upgrade` hands over (no alembic.ini needed)."""

from alembic import context

from api.service.db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the service always passes its connection
    raise RuntimeError("run migrations through api.service.db.upgrade(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
