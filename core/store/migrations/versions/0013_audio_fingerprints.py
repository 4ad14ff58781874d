"""Audio fingerprints for near-duplicate search (issue 29, the duplicates analyzer)

Filled in by the change that adds the index (core/jobs/analyzers/duplicates.py).

Revision ID: 0013
Revises: 0012
Created: 2026-12-04
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
