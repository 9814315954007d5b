"""Wire format of /v1/admin: keys, retention, the audit trail."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from workers.store.db import ApiKey, Role, as_utc

MAX_RETENTION = 100_000


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="what the key is for, e.g. the system that uses it")
    role: Role = Field(default=Role.member, description="admin, member or uploader (docs/governance.md)")


class KeyPublic(BaseModel):
    id: str
    name: str
    tenant_id: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_key(cls, key: ApiKey) -> KeyPublic:
        return cls(
            id=key.id,
            name=key.name,
            tenant_id=key.tenant_id,
            role=Role(key.role),
            created_at=as_utc(key.created_at),
            revoked_at=as_utc(key.revoked_at),
        )


class KeyCreated(KeyPublic):
    key: str = Field(description="the key itself, shown only now; it is stored only as a hash")


class KeyList(BaseModel):
    keys: list[KeyPublic]


class RetentionUpdate(BaseModel):
    audio_hours: int | None = Field(
        default=None,
        ge=0,
        le=MAX_RETENTION,
        description="hours audio is kept after a job finished and its webhooks settled; null: the operator's default",
    )
    results_days: int | None = Field(
        default=None,
        ge=0,
        le=MAX_RETENTION,
        description="days transcripts and summaries are kept; 0 keeps them; null: the operator's default",
    )


class RetentionPublic(BaseModel):
    audio_hours: int
    results_days: int = Field(description="0: transcripts and summaries are kept")
    audio_hours_default: bool = Field(description="true: the operator's default (SWESCRIBE_RETENTION_AUDIO_HOURS)")
    results_days_default: bool = Field(description="true: the operator's default (SWESCRIBE_RETENTION_RESULTS_DAYS)")


class AuditEventPublic(BaseModel):
    id: int
    tenant_id: str | None
    seq: int
    at: datetime
    key_id: str | None
    action: str
    object_type: str | None
    object_id: str | None
    detail: dict
    client: str | None
    user_agent: str | None
    outcome: str
    prev_hash: str
    hash: str


class AuditList(BaseModel):
    events: list[AuditEventPublic]
    limit: int
    offset: int


class KeyWebhookPublic(BaseModel):
    """A key's webhook settings as its tenant's admin sees them (the secret only when created or rotated)."""

    key_id: str
    url: str | None
    secret: str | None = Field(default=None, description="whsec_... shown only when it is created or rotated")
    disabled_at: datetime | None
    disabled_reason: str | None
    previous_secret_active: bool


class KeyWebhookList(BaseModel):
    webhooks: list[KeyWebhookPublic]
