"""indexes for the job listing's keyset pages, the retention purge and the webhook sweeper;
running totals of finished jobs for /metrics

Measured on PostgreSQL with a million jobs (bench/db, docs/benchmarks.md):

- `GET /v1/jobs` reads its page from an index on (filter columns, created_at, id) backwards,
  one per filter it takes; ix_jobs_tenant_id is a prefix of those and goes, as does
  ix_jobs_owner (uq_jobs_owner_idempotency_key begins with owner).
- /metrics: counting a million jobs by status and tenant took 250-370 ms even from an
  index-only scan of a covering index (status, tenant_id, duration_s) and 780 ms from the
  table, and summing every completed job's JSON timings (json_each) 5-6 s, against a target
  of 100 ms on 2 cores. So finished jobs are totalled as they finish: job_totals (completed
  and failed jobs and their audio, by tenant and key) and job_stage_totals (seconds per
  stage), written in the transaction that completes, fails or deletes a job; queued and
  running jobs, few, are still counted from ix_jobs_status. This migration fills both from
  the jobs finished so far.
- A listing's `total`: counting the largest tenant's 279,000 jobs took 120-200 ms, so it is
  the sum of job_totals' rows for the listing's filters plus a count of its queued and running
  jobs on the listing's own index.
- The purge's due jobs and the sweeper's due deliveries come from partial indexes holding only
  what is still to be done.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

AUDIO_UNPURGED = "audio_purged_at IS NULL AND legal_hold_at IS NULL"
RESULTS_UNPURGED = "results_purged_at IS NULL AND legal_hold_at IS NULL"
PENDING = "status = 'pending'"

TOTALS = (
    "INSERT INTO job_totals (tenant_id, owner, status, jobs, audio_s)"
    " SELECT tenant_id, owner, status, COUNT(*), COALESCE(SUM(duration_s), 0) FROM jobs"
    " WHERE status IN ('completed', 'failed') GROUP BY tenant_id, owner, status"
)
# Stage seconds of the jobs completed so far, per dialect (timings_s is JSON: a text column in
# SQLite, json in PostgreSQL).
BACKFILL = {
    "postgresql": (
        "INSERT INTO job_stage_totals (stage, seconds, jobs)"
        " SELECT t.key, SUM(CAST(CAST(t.value AS TEXT) AS DOUBLE PRECISION)), COUNT(*)"
        " FROM jobs, json_each(jobs.timings_s) AS t"
        " WHERE jobs.status = 'completed' AND json_typeof(jobs.timings_s) = 'object'"
        " AND json_typeof(t.value) = 'number' GROUP BY t.key"
    ),
    "sqlite": (
        "INSERT INTO job_stage_totals (stage, seconds, jobs)"
        " SELECT t.key, SUM(CAST(t.value AS REAL)), COUNT(*)"
        " FROM jobs, json_each(jobs.timings_s) AS t"
        " WHERE jobs.status = 'completed' AND json_type(jobs.timings_s) = 'object'"
        " AND t.type IN ('integer', 'real') GROUP BY t.key"
    ),
}


def _where(condition: str) -> dict:
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


def upgrade() -> None:
    op.create_table(
        "job_stage_totals",
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stage"),
    )
    op.execute(BACKFILL[op.get_bind().dialect.name])
    op.create_table(
        "job_totals",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.Column("audio_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "owner", "status"),
    )
    op.execute(TOTALS)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_tenant_id")
        batch_op.drop_index("ix_jobs_owner")
        batch_op.create_index("ix_jobs_tenant_created", ["tenant_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_jobs_tenant_status_created", ["tenant_id", "status", "created_at", "id"], unique=False)
        batch_op.create_index("ix_jobs_owner_created", ["tenant_id", "owner", "created_at", "id"], unique=False)
        batch_op.create_index("ix_jobs_owner_status_created", ["tenant_id", "owner", "status", "created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_jobs_audio_purge_due", ["tenant_id", "finished_at", "id"], unique=False, **_where(AUDIO_UNPURGED)
        )
        batch_op.create_index(
            "ix_jobs_results_purge_due", ["tenant_id", "finished_at", "id"], unique=False, **_where(RESULTS_UNPURGED)
        )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_pending_due", ["next_attempt_at"], unique=False, **_where(PENDING))


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_pending_due")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        for name in (
            "ix_jobs_results_purge_due",
            "ix_jobs_audio_purge_due",
            "ix_jobs_owner_status_created",
            "ix_jobs_owner_created",
            "ix_jobs_tenant_status_created",
            "ix_jobs_tenant_created",
        ):
            batch_op.drop_index(name)
        batch_op.create_index("ix_jobs_owner", ["owner"], unique=False)
        batch_op.create_index("ix_jobs_tenant_id", ["tenant_id"], unique=False)
    op.drop_table("job_totals")
    op.drop_table("job_stage_totals")
