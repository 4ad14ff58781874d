"""Signed tokens end at logout, password change and deactivation

``users.token_generation`` is copied into every page token, file link and subset link an account is handed; a
logout, a password change or reset and a deactivation add one to it, so every token made before stops verifying
at once instead of living to its expiry. Existing accounts start at 0 (tokens made before this revision carry
no generation and no kind, and are refused anyway).

Revision ID: 0006
Revises: 0005
Created: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("token_generation")
