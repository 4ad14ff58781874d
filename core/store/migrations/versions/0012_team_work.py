"""Team work: assignments, annotators' submissions, reviews (issue 27)

Filled in by the change that adds the tables (core/team/).

Revision ID: 0012
Revises: 0011
Created: 2026-12-04
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
