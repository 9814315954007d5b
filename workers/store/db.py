"""The job database (SQLAlchemy 2): SQLite by default, PostgreSQL for several hosts.

The database is the system of record: Redis only carries task messages, so a restarted
broker or API loses nothing.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, configure_mappers, mapped_column, sessionmaker


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class JobStatus(enum.StrEnum):
    """A job's transcription: queued -> running -> completed | failed (running -> queued while a
    retry waits)."""

    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"


class SummaryStatus(enum.StrEnum):
    """A job's summary: none (not asked for), or pending -> running -> completed | failed."""

    none = "none"
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"


class Priority(enum.IntEnum):
    """Which queued jobs run first: lower first. Uploads over REST are normal, folder
    ingestion bulk (either overridable per job); within a level, tenants take turns."""

    normal = 0
    bulk = 1


class Base(DeclarativeBase):
    pass


# Existing keys and jobs were moved here by migration 0006; jobs made with auth off belong here.
DEFAULT_TENANT = "default"


class Role(enum.StrEnum):
    """What a key may do within its tenant (docs/governance.md has the matrix)."""

    admin = "admin"  # everything a member may, and the tenant's keys, retention, audit, webhook, holds
    member = "member"  # upload, read and delete the tenant's jobs
    uploader = "uploader"  # upload, and read only the jobs it uploaded (case systems, ingest)


class Tenant(Base):
    """An organisation or team: its keys see its jobs and nothing else."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Retention; None: the operator's default (SWESCRIBE_RETENTION_AUDIO_HOURS / _RESULTS_DAYS).
    retention_audio_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retention_results_days: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    tenant_id: Mapped[str] = mapped_column(String(32), index=True, default=DEFAULT_TENANT, server_default=DEFAULT_TENANT)
    role: Mapped[str] = mapped_column(String(16), default=Role.member, server_default=Role.member.value)
    # sha256 of the key: keys are 256-bit random, so a fast hash cannot be brute-forced.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# A job whose audio (results) the retention purge has yet to delete: the purge's partial
# indexes hold only these, so its query stays small however many purged rows accumulate.
_AUDIO_UNPURGED = text("audio_purged_at IS NULL AND legal_hold_at IS NULL")
_RESULTS_UNPURGED = text("results_purged_at IS NULL AND legal_hold_at IS NULL")
# The queue the gpu workers schedule from: only queued jobs, so it stays small however many
# finished rows accumulate (migration 0009).
_QUEUED = text("status = 'queued'")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
        # GET /v1/jobs, newest first (created_at DESC, id DESC: the index read backwards), one
        # index per filter it takes: the tenant's jobs, an uploader's own, each by status too
        # (migration 0008; bench/db has the plans).
        Index("ix_jobs_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_jobs_tenant_status_created", "tenant_id", "status", "created_at", "id"),
        Index("ix_jobs_owner_created", "tenant_id", "owner", "created_at", "id"),
        Index("ix_jobs_owner_status_created", "tenant_id", "owner", "status", "created_at", "id"),
        Index(
            "ix_jobs_audio_purge_due",
            "tenant_id",
            "finished_at",
            "id",
            postgresql_where=_AUDIO_UNPURGED,
            sqlite_where=_AUDIO_UNPURGED,
        ),
        Index(
            "ix_jobs_results_purge_due",
            "tenant_id",
            "finished_at",
            "id",
            postgresql_where=_RESULTS_UNPURGED,
            sqlite_where=_RESULTS_UNPURGED,
        ),
        # The scheduler: queued jobs by priority, then tenant, oldest first; and when each
        # tenant was last served (its newest start), so tenants take turns.
        Index("ix_jobs_queue", "priority", "tenant_id", "created_at", "id", postgresql_where=_QUEUED, sqlite_where=_QUEUED),
        Index("ix_jobs_tenant_started", "tenant_id", "started_at"),
        # A dead worker's batch, taken back together.
        Index("ix_jobs_batch", "batch_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # The API key id that created the job, or "local" when auth is disabled.
    owner: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[str] = mapped_column(String(32), default=DEFAULT_TENANT, server_default=DEFAULT_TENANT)
    # The caller's case reference (an erasure request names it); searchable by the tenant's admins.
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued, index=True)
    stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    filename: Mapped[str] = mapped_column(String(500))
    audio_key: Mapped[str] = mapped_column(String(500))
    audio_sha256: Mapped[str] = mapped_column(String(64))
    audio_size_bytes: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Priority (lower runs first) and the batch the job's recognition ran in, shared with the
    # other short jobs decoded together in it (workers/runners/batching.py).
    priority: Mapped[int] = mapped_column(Integer, default=Priority.normal, server_default="0")
    batch_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    transcript_key: Mapped[str | None] = mapped_column(String(500), nullable=True)
    timings_s: Mapped[dict] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When the transcription task was last sent (or, waiting for a retry, when it is due): a
    # queued job whose task is missing from the broker is sent again once this is old enough.
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, default=utcnow)
    # The process running the job ("host/pid-namespace/pid") and when it last said it was alive:
    # a running job whose worker is gone or silent too long is queued again.
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The summary (cpu queue, after the transcript): none (not asked for), pending, running,
    # completed or failed; its document is stored next to the transcript (summary_key).
    summary_status: Mapped[str] = mapped_column(String(16), default=SummaryStatus.none, server_default="none")
    summary_key: Mapped[str | None] = mapped_column(String(500), nullable=True)
    summary_error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    summary_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    summary_finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Governance: a job under legal hold is never purged; the row outlives its content as the
    # record of what was deleted and when.
    legal_hold_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    audio_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    results_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # What the job cost (workers/pipeline/cost.py, JobCost.as_record): CPU, GPU and wall seconds
    # per stage, energy in Wh and whether it was measured or estimated; None before it completed.
    cost: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class TranscriptRevision(Base):
    """A transcript corrected by a person: revision 1, 2, ... of a job (revision 0, the machine
    transcript, is the job's own `transcript_key` and has no row). The transcript itself is a
    stored object under the job's prefix, so retention and deletion take it with the results."""

    __tablename__ = "transcript_revisions"
    __table_args__ = (UniqueConstraint("job_id", "revision", name="uq_transcript_revisions_job_revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(32), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The API key that saved it; None with auth switched off.
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    transcript_key: Mapped[str] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    segments_changed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SpeakerName(Base):
    """The name a person gave a speaker label ("Talare 1" -> "Anna Berg") for the whole job:
    every format, download and webhook shows it. Personal data: purged with the results."""

    __tablename__ = "speaker_names"

    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class JobTotal(Base):
    """Finished jobs of a tenant's key by status (completed, failed), kept in the transaction
    that finishes or deletes a job (jobs.complete_job, fail_job, delete_job), so neither
    /metrics nor a listing's total counts a million rows (migration 0008 has the figures)."""

    __tablename__ = "job_totals"

    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    jobs: Mapped[int] = mapped_column(Integer, default=0)  # now in the table: a deleted job is taken off
    # Seconds of audio of every job that finished so, deleted ones included: a counter never falls.
    audio_s: Mapped[float] = mapped_column(Float, default=0.0)
    # Energy of the jobs that completed so, in Wh (their cost's energy_wh): a counter too.
    energy_wh: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class StageTotal(Base):
    """Seconds spent in one pipeline stage by every job completed so far, added in the same
    transaction that completes a job (jobs.complete_job): /metrics reads a few rows instead of
    every job's timings (migration 0008 says why)."""

    __tablename__ = "job_stage_totals"

    stage: Mapped[str] = mapped_column(String(64), primary_key=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    jobs: Mapped[int] = mapped_column(Integer, default=0)
    # CPU and GPU seconds of the stage, from the costs of the jobs that recorded one (migration 0010).
    cpu_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    gpu_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class DeliveryStatus(enum.StrEnum):
    """A webhook delivery: pending (attempts go on) until delivered, failed (a refusing 4xx),
    endpoint_gone (410) or abandoned (the retry window ran out)."""

    pending = "pending"
    delivered = "delivered"
    failed = "failed"
    endpoint_gone = "endpoint_gone"
    abandoned = "abandoned"


class WebhookEndpoint(Base):
    """An API key's webhook settings: its signing secret and its default URL (optional)."""

    __tablename__ = "webhook_endpoints"

    owner: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    secret: Mapped[str] = mapped_column(String(100))
    # The secret before the last rotation: deliveries are signed with both until it is retired,
    # so receivers still holding it keep verifying.
    previous_secret: Mapped[str | None] = mapped_column(String(100), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event to one URL; its webhook-id stays the same across every attempt."""

    __tablename__ = "webhook_deliveries"
    # The sweeper's query (webhooks.store.due): pending deliveries by due time, without reading
    # the settled ones, which are nearly all of them (migration 0008).
    __table_args__ = (
        Index(
            "ix_webhook_deliveries_pending_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    job_id: Mapped[str] = mapped_column(String(32), index=True)
    owner: Mapped[str] = mapped_column(String(32), index=True)
    event: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2000))
    # Whether the URL is the owner's default endpoint (a 410 then disables that endpoint).
    to_default_endpoint: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The last time it was asked for again (POST .../webhook/redeliver); its retry window starts then.
    redelivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(32), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditEvent(Base):
    """One append-only audit record. Events form a hash chain per tenant: `hash` is the SHA-256
    of the event's fields and `prev_hash`, so an edited or deleted row breaks the chain
    (workers/store/audit.py). Never transcript text or personal data: ids, actions, outcomes."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("tenant_id", "seq", name="uq_audit_events_tenant_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # "" for events no tenant can be named for (a failed authentication).
    tenant_id: Mapped[str] = mapped_column(String(32), index=True)
    # Position in the tenant's chain, from 1; unique, so two writers cannot both extend one link.
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    client: Mapped[str | None] = mapped_column(String(100), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)
    outcome: Mapped[str] = mapped_column(String(32))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """One engine (connection pool) per URL per process."""
    if url not in _ENGINES:
        _ENGINES[url] = _create_engine(url)
    return _ENGINES[url]


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            # WAL lets the API read while a worker writes; the API and workers share the file.
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


# Every model is defined above: configure the mappers now, at import, in the main process. Done
# lazily, the first query of a thread (the cpu worker's sweeper, reconciler and purge run in
# threads of its main process) holds SQLAlchemy's configure mutex for a moment, and a pool
# child forked in that moment inherits it locked and hangs at its first query.
configure_mappers()


def forget_engines_after_fork() -> None:
    """In a forked child: drop the parent's pools without closing their connections, which
    the parent still uses (closing a PostgreSQL socket here would end the parent's session)."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)
    _ENGINES.clear()


def session_factory(url: str) -> sessionmaker:
    return sessionmaker(get_engine(url), expire_on_commit=False)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored here is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
