"""Who last changed an annotation; trigram search of sounds on PostgreSQL

``annotations.updated_by`` lets a refused stale edit name the person who changed the annotation last (until
now it could only name its creator). On PostgreSQL, the ``pg_trgm`` extension and GIN indexes on sounds' paths
and titles make the catalogue's "contains" search an index lookup, as SQLite's FTS5 trigram index does there.

Revision ID: 0002
Revises: 0001
Created: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {"ix_sounds_path_trgm": "path", "ix_sounds_title_trgm": "title"}


def upgrade() -> None:
    # A plain column, no foreign key: on SQLite adding one would rebuild the table, and dropping the old copy
    # would cascade into annotation_tags. Accounts are deactivated, never deleted, so the id stays meaningful.
    op.add_column("annotations", sa.Column("updated_by", sa.String(length=32), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema = op.get_bind().scalar(sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"))
        for name, column in TRIGRAM_INDEXES.items():
            op.execute(f'CREATE INDEX {name} ON sounds USING gin ({column} {schema}.gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("annotations") as batch_op:
        batch_op.drop_column("updated_by")
