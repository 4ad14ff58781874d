"""Alembic's entry: migrations run on the connection Earmark hands over (core.store.migrate), never on a URL of
their own, so the app, the command line and the tests upgrade the very database they opened."""

from __future__ import annotations

from alembic import context

from core.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=False, include_object=lambda obj, name, kind, reflected, compare_to: not (name or "").startswith("sound_search"))
with context.begin_transaction():
    context.run_migrations()
