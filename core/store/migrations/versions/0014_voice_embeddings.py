"""Voice embeddings for the speaker check (issue 29, the speaker-check analyzer)

One row per sound and encoder version: the sound's voice embedding as float32 bytes (core/jobs/voices.py), written
by the speaker-check analyzer (core/jobs/analyzers/speaker_check.py) with an upsert, read to compare a sound with
its speaker's other sounds and to list the sounds nearest by voice. Deleting a sound deletes its embeddings.

Revision ID: 0014
Revises: 0013
Created: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_embeddings",
        sa.Column("sound_id", sa.String(32), sa.ForeignKey("sounds.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model", sa.String(64), primary_key=True),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("date_created", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("voice_embeddings")
