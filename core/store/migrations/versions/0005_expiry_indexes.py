"""A dataset's or an uploader's live sounds are counted from an index

Listings count the live sounds their filters match (``total_count``): all matches less the expired ones. With
the expiry beside the dataset (and beside the uploader) in one index, both counts read that index and no table
rows. They replace the indexes on the dataset alone and the uploader alone, whose lookups they serve as well.

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
        batch_op.create_index("ix_sounds_created_by_expires", ["created_by", "expires_at"], unique=False)
        batch_op.drop_index("ix_sounds_dataset")
        batch_op.drop_index("ix_sounds_created_by")


def downgrade() -> None:
    with op.batch_alter_table("sounds") as batch_op:
        batch_op.create_index("ix_sounds_dataset", ["dataset"], unique=False)
        batch_op.create_index("ix_sounds_created_by", ["created_by"], unique=False)
        batch_op.drop_index("ix_sounds_dataset_expires")
        batch_op.drop_index("ix_sounds_created_by_expires")
