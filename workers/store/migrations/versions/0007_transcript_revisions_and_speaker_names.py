"""transcript revisions (corrections by people) and a job's speaker names

Revision 0 of a transcript is the machine one, where it always was (jobs.transcript_key): no
row and no copy. Each correction adds a row naming the stored object of its transcript.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transcript_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("transcript_key", sa.String(length=500), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("segments_changed", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "revision", name="uq_transcript_revisions_job_revision"),
    )
    with op.batch_alter_table("transcript_revisions", schema=None) as batch_op:
        batch_op.create_index("ix_transcript_revisions_job_id", ["job_id"], unique=False)
    op.create_table(
        "speaker_names",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "label"),
    )


def downgrade() -> None:
    op.drop_table("speaker_names")
    op.drop_table("transcript_revisions")
