"""job summaries: status, stored document, error, attempts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults: jobs that exist already get "none" (no summary asked for) and 0.
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary_status", sa.String(length=16), server_default="none", nullable=False))
        batch_op.add_column(sa.Column("summary_key", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("summary_error_code", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("summary_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("summary_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("summary_finished_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("summary_finished_at")
        batch_op.drop_column("summary_attempts")
        batch_op.drop_column("summary_error")
        batch_op.drop_column("summary_error_code")
        batch_op.drop_column("summary_key")
        batch_op.drop_column("summary_status")
