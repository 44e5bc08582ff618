"""Alembic's entry point: migrations run on the connection the app hands over (see storage/migrate.py)."""

from __future__ import annotations

from alembic import context

from digiknow_desk.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through 'digiknow-desk init', which opens the database first.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
