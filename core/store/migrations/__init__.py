"""Alembic migrations of the database schema: one revision per change, applied on start (core.store.migrate)."""
