"""Team work: assignments, annotators' submissions, reviews (issue 27)

Assignment batches (who handed out which sounds, how many people per sound, blind or not), one assignment per sound
and annotator with its state, active time and review, and ``annotations.is_gold``: the reviewer's accepted copy of
a sound's regions (core/team/). Existing annotations are nobody's gold.

Revision ID: 0012
Revises: 0011
Created: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "assignment_batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("dataset", sa.String(128), nullable=False, index=True),
        sa.Column("assigned_by", sa.String(32), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("per_sound", sa.Integer, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("filter", sa.JSON, nullable=False),
        sa.Column("blind", sa.Boolean, nullable=False),
        sa.Column("hide_suggestions", sa.Boolean, nullable=False),
        sa.Column("date_created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("batch_id", sa.String(32), sa.ForeignKey("assignment_batches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sound_id", sa.String(32), sa.ForeignKey("sounds.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("annotator_id", sa.String(32), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("active_seconds", sa.Float, nullable=False, server_default="0"),
        _when("opened_at"), _when("submitted_at"), _when("reviewed_at"),
        sa.Column("reviewed_by", sa.String(32), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("times_returned", sa.Integer, nullable=False, server_default="0"),
        sa.Column("date_created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sound_id", "annotator_id", name="uq_assignment_sound_annotator"),
    )
    op.create_index("ix_assignments_annotator_state", "assignments", ["annotator_id", "state"])
    op.create_index("ix_assignments_batch_state", "assignments", ["batch_id", "state"])
    # Who owns a dataset (may assign and review it) in two index seeks, not a read of its sounds (core/team/visibility.py)
    op.create_index("ix_sounds_dataset_created_by", "sounds", ["dataset", "created_by"])
    with op.batch_alter_table("annotations") as batch:
        batch.add_column(sa.Column("is_gold", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        batch.drop_column("is_gold")
    op.drop_index("ix_sounds_dataset_created_by", "sounds")
    op.drop_index("ix_assignments_batch_state", "assignments")
    op.drop_index("ix_assignments_annotator_state", "assignments")
    op.drop_table("assignments")
    op.drop_table("assignment_batches")
