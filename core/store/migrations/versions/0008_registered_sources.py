"""Files registered in place: where each came from, when it was last listed, since when it is missing

A file registered from a bucket or folder (``python -m core import s3://bucket/prefix``) stays where it is: its
stored_files row has the object's URL as key, ``source`` the URL it was registered from, ``seen_at`` the last
registration run that listed it, and ``missing_since`` the run that no longer found it.

Revision ID: 0008
Revises: 0007
Created: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stored_files") as batch:
        batch.add_column(sa.Column("source", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("missing_since", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_stored_files_source", ["source"])


def downgrade() -> None:
    with op.batch_alter_table("stored_files") as batch:
        batch.drop_index("ix_stored_files_source")
        batch.drop_column("missing_since")
        batch.drop_column("seen_at")
        batch.drop_column("source")
