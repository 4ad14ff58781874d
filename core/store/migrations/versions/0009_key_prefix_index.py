"""An index for "every object whose key starts with ..." on PostgreSQL

Deleting a sound deletes its derived files, the rows whose keys start with ``derived/<sound id>/``. Asked as a
range of keys in bytewise order (core.store.db.starting_with), SQLite's unique index on ``key`` answers it; on
PostgreSQL that index follows the database's collation, in which a range of keys is not a prefix, so this index
orders them bytewise (``COLLATE "C"``). Without it every deletion read the whole table, and purging or deleting a
dataset took time in the square of the catalogue.

Revision ID: 0009
Revises: 0008
Created: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('CREATE INDEX ix_stored_files_key_bytes ON stored_files (key COLLATE "C")')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_stored_files_key_bytes")
