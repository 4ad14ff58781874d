"""When an account's password last changed, so logins made before it end

A browser's login cookie names only the user and its expiry; with this time the pages can tell a cookie issued
before a password reset and log that browser out, instead of letting it run to the end of its day.

Revision ID: 0003
Revises: 0002
Created: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("password_changed", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("password_changed")
