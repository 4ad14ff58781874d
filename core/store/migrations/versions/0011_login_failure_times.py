"""When each login-failure count last grew

Failed logins were counted for ever (an address's count was never cleared), so a shared address (an office's
NAT, a reverse proxy) collected everyone's typos until every login from it had to wait. A count now starts over
once it has been quiet for a while (core/accounts/throttle.py), which needs the time of its last failure. Existing
counts have none and start over at their next failure.

Revision ID: 0011
Revises: 0010
Created: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("login_failures", sa.Column("last_failed", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_failures") as batch:
        batch.drop_column("last_failed")
