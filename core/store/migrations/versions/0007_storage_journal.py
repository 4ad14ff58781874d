"""A journal of the storage keys Earmark is writing or deleting

Purge, fsck and deletions must tell Earmark's objects from a shared bucket's or folder's own. An object is
Earmark's when a stored_files row describes it; ``storage_journal`` covers the moments when none does: between a
write and the commit of its row, and between the commit that removes a row and the deletion of its object. An
object that neither names is foreign and is never deleted (objects left behind before this revision included:
they are reported, not removed).

Revision ID: 0007
Revises: 0006
Created: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storage_journal",
        sa.Column("key", sa.String(1024), primary_key=True),
        sa.Column("date_created", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("storage_journal")
