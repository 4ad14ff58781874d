"""Every sound's sample key: a random whole number below 2**31 - 1 that seeded subsets are ordered by

A subset's order used to be worked out in Python, a sha256 per candidate (4.3 s for a million sounds). Each sound
now has a fixed random key, and a seed's order is an affine map of it that the database computes
(core/export/sampling.py). Existing rows get a random key here; new rows get theirs from core/store/models.py.

Revision ID: 0010
Revises: 0009
Created: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MODULUS = 2**31 - 1


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # a volatile default: a key drawn for each row, old and new
        op.execute(f"ALTER TABLE sounds ADD COLUMN sample_key integer NOT NULL DEFAULT floor(random() * {MODULUS})::integer")
        return
    op.add_column("sounds", sa.Column("sample_key", sa.Integer(), nullable=False, server_default="0"))
    op.execute(f"UPDATE sounds SET sample_key = abs(random() % {MODULUS})")


def downgrade() -> None:
    with op.batch_alter_table("sounds") as batch:
        batch.drop_column("sample_key")
