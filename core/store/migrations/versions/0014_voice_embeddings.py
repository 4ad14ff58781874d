"""Voice embeddings for the speaker check (issue 29, the speaker-check analyzer)

Filled in by the change that adds them (core/jobs/analyzers/speaker_check.py).

Revision ID: 0014
Revises: 0013
Created: 2026-12-04
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
