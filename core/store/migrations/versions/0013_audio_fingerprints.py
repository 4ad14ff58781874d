"""Audio fingerprints for near-duplicate search (issue 29, the duplicates analyzer)

A sound's landmark fingerprint (core/audio/fingerprint.py) under a small integer id, its landmarks as (hash,
frame) rows indexed by hash so a new sound's lookup reads only the rows sharing its hashes (never every sound), and
the matches found when it was fingerprinted (core/jobs/analyzers/duplicates.py). Deleting a sound deletes its
fingerprint, landmarks and matches.

Revision ID: 0013
Revises: 0012
Created: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _fingerprint(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, sa.ForeignKey("audio_fingerprints.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "audio_fingerprints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sound_id", sa.String(32), sa.ForeignKey("sounds.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("landmarks", sa.Integer, nullable=False),
        sa.Column("date_created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "fingerprint_hashes",
        _fingerprint("fingerprint_id"),
        sa.Column("hash", sa.Integer, primary_key=True),
        sa.Column("frame", sa.Integer, primary_key=True),
    )
    op.create_index("ix_fingerprint_hashes_hash", "fingerprint_hashes", ["hash", "fingerprint_id", "frame"])
    op.create_table(
        "fingerprint_matches",
        _fingerprint("fingerprint_id"),
        _fingerprint("other_id"),
        sa.Column("offset_frames", sa.Integer, nullable=False),
        sa.Column("votes", sa.Integer, nullable=False),
    )
    op.create_index("ix_fingerprint_matches_other_id", "fingerprint_matches", ["other_id"])


def downgrade() -> None:
    op.drop_index("ix_fingerprint_matches_other_id", "fingerprint_matches")
    op.drop_table("fingerprint_matches")
    op.drop_index("ix_fingerprint_hashes_hash", "fingerprint_hashes")
    op.drop_table("fingerprint_hashes")
    op.drop_table("audio_fingerprints")
