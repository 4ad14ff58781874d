"""A dataset's live sounds are counted from an index

Listings count the live sounds their filters match (``total_count``): all matches less the expired ones. With
the expiry beside the dataset in one index, both counts for a dataset read that index and no table rows. It
replaces the index on the dataset alone, whose lookups it serves as well.

Revision ID: 0005
Revises: 0004
Created: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sounds") as batch_op:
        batch_op.create_index("ix_sounds_dataset_expires", ["dataset", "expires_at"], unique=False)
        batch_op.drop_index("ix_sounds_dataset")


def downgrade() -> None:
    with op.batch_alter_table("sounds") as batch_op:
        batch_op.create_index("ix_sounds_dataset", ["dataset"], unique=False)
        batch_op.drop_index("ix_sounds_dataset_expires")
