"""job priority and batch, and the indexes the gpu workers schedule from

Queued jobs are chosen by priority (normal before bulk), tenants taking turns within a level
(the tenant served longest ago first), oldest first within a tenant; short ones are decoded
together in one batch, recorded in batch_id. The queue's index is partial (queued jobs only),
so it stays small however many finished jobs the table holds; when a tenant was last served is
its newest started_at, read from (tenant_id, started_at). A worker that dies mid-batch leaves
the batch's jobs running; they are found by batch_id and queued again together.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

QUEUED = "status = 'queued'"


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("batch_id", sa.String(length=32), nullable=True))
        batch_op.create_index(
            "ix_jobs_queue",
            ["priority", "tenant_id", "created_at", "id"],
            unique=False,
            postgresql_where=sa.text(QUEUED),
            sqlite_where=sa.text(QUEUED),
        )
        batch_op.create_index("ix_jobs_tenant_started", ["tenant_id", "started_at"], unique=False)
        batch_op.create_index("ix_jobs_batch", ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_batch")
        batch_op.drop_index("ix_jobs_tenant_started")
        batch_op.drop_index("ix_jobs_queue")
        batch_op.drop_column("batch_id")
        batch_op.drop_column("priority")
