"""what each job cost: CPU, GPU and wall seconds per stage and its energy; energy and CPU and
GPU seconds in the running totals

jobs.cost holds a completed job's cost (workers/pipeline/cost.py: seconds per stage, energy in
Wh, measured or estimated). job_totals.energy_wh and job_stage_totals.cpu_s / gpu_s are added
to in the transaction that completes a job, like the other totals (migration 0008), so /metrics
reports energy by tenant and CPU seconds per stage from a few rows. Jobs completed before this
revision have no cost and count 0 in them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost", sa.JSON(), nullable=True))
    with op.batch_alter_table("job_totals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("energy_wh", sa.Float(), server_default="0", nullable=False))
    with op.batch_alter_table("job_stage_totals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cpu_s", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("gpu_s", sa.Float(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("job_stage_totals", schema=None) as batch_op:
        batch_op.drop_column("gpu_s")
        batch_op.drop_column("cpu_s")
    with op.batch_alter_table("job_totals", schema=None) as batch_op:
        batch_op.drop_column("energy_wh")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("cost")
