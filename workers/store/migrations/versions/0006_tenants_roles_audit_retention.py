"""governance: tenants, key roles, audit events, retention and legal hold, case references,
webhook secret rotation; existing keys and jobs move into the default tenant

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 14:30:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DEFAULT_TENANT = "default"


def upgrade() -> None:
    tenants = op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retention_audio_hours", sa.Integer(), nullable=True),
        sa.Column("retention_results_days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.bulk_insert(tenants, [{"id": DEFAULT_TENANT, "name": DEFAULT_TENANT, "created_at": datetime.now(UTC)}])
    # server defaults put every existing key and job into the default tenant. Existing keys
    # become members: they keep uploading, reading and deleting; an operator makes an admin
    # with `swescribe keys create NAME --role admin`.
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant_id", sa.String(length=32), nullable=False, server_default=DEFAULT_TENANT))
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="member"))
        batch_op.create_index("ix_api_keys_tenant_id", ["tenant_id"], unique=False)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant_id", sa.String(length=32), nullable=False, server_default=DEFAULT_TENANT))
        batch_op.add_column(sa.Column("reference", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("legal_hold_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("audio_purged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("results_purged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_jobs_tenant_id", ["tenant_id"], unique=False)
        batch_op.create_index("ix_jobs_reference", ["reference"], unique=False)
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_secret", sa.String(length=100), nullable=True))
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "seq", name="uq_audit_events_tenant_seq"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_tenant_id", ["tenant_id"], unique=False)
        batch_op.create_index("ix_audit_events_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_events_key_id", ["key_id"], unique=False)
        batch_op.create_index("ix_audit_events_action", ["action"], unique=False)
        batch_op.create_index("ix_audit_events_object_id", ["object_id"], unique=False)


def downgrade() -> None:
    op.drop_table("audit_events")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_column("previous_secret")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_reference")
        batch_op.drop_index("ix_jobs_tenant_id")
        batch_op.drop_column("results_purged_at")
        batch_op.drop_column("audio_purged_at")
        batch_op.drop_column("legal_hold_at")
        batch_op.drop_column("reference")
        batch_op.drop_column("tenant_id")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_tenant_id")
        batch_op.drop_column("role")
        batch_op.drop_column("tenant_id")
    op.drop_table("tenants")
