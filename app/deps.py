"""FastAPI dependencies: settings, database sessions, storage, the broker, job intake, the caller
(its key, tenant and role)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Annotated

from celery import Celery
from fastapi import Depends, Header, Request
from sqlalchemy.orm import sessionmaker

from app.errors import ApiError
from workers.intake.submit import Intake
from workers.settings import Settings
from workers.store import audit
from workers.store.db import DEFAULT_TENANT, ApiKey, Job, Role
from workers.store.keys import lookup_key
from workers.store.storage import Storage
from workers.tasks.names import send_ticket

LOCAL_OWNER = "local"
logger = logging.getLogger(__name__)


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_sessions(request: Request) -> sessionmaker:
    return request.app.state.sessions


SessionsDep = Annotated[sessionmaker, Depends(get_sessions)]


def get_storage(request: Request) -> Storage:
    return request.app.state.storage


StorageDep = Annotated[Storage, Depends(get_storage)]


def get_celery(request: Request) -> Celery:
    return request.app.state.celery


CeleryDep = Annotated[Celery, Depends(get_celery)]


def get_intake(sessions: SessionsDep, storage: StorageDep, celery: CeleryDep) -> Intake:
    return Intake(sessions, storage, functools.partial(send_ticket, celery))


IntakeDep = Annotated[Intake, Depends(get_intake)]


@dataclass(frozen=True)
class Caller:
    """Who is asking: the key, its tenant and role, and where the request came from (for the
    audit trail)."""

    key_id: str
    tenant_id: str
    role: Role
    client: str | None = None
    user_agent: str | None = None

    def sees(self, job: Job) -> bool:
        """A job of another tenant, or (for an uploader) of another key, is as absent as a missing one."""
        return job.tenant_id == self.tenant_id and (self.role != Role.uploader or job.owner == self.key_id)

    def audit(self, action: str, **fields) -> audit.Entry:
        return audit.Entry(
            action=action,
            tenant_id=self.tenant_id,
            key_id=self.key_id,
            client=self.client,
            user_agent=self.user_agent,
            **fields,
        )


def _origin(request: Request) -> tuple[str | None, str | None]:
    return (request.client.host if request.client else None), request.headers.get("user-agent")


def get_caller(
    request: Request, settings: SettingsDep, sessions: SessionsDep, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """The caller: its API key's id, tenant and role; with auth switched off, "local", an admin
    of the default tenant. A refused key is recorded in the audit trail (never the key itself)."""
    client, user_agent = _origin(request)
    if settings.auth_disabled:
        return local_caller(request)
    unauthorized = {"WWW-Authenticate": "Bearer"}
    if not authorization or not authorization.lower().startswith("bearer "):
        _failed(sessions, None, client, user_agent, request, "no_key")
        raise ApiError(401, "unauthorized", "send an API key: Authorization: Bearer <key>", unauthorized)
    record = lookup_key(sessions, authorization[7:].strip())
    if record is None or record.revoked_at is not None:
        _failed(sessions, record, client, user_agent, request, "revoked_key" if record else "unknown_key")
        raise ApiError(401, "unauthorized", "unknown or revoked API key", unauthorized)
    return caller_for_key(record, request)


def caller_for_key(record: ApiKey, request: Request) -> Caller:
    """The caller an active key makes: the one place a key becomes a Caller, shared by the
    Bearer header above and the web app's session cookie (app/web/sessions.py)."""
    client, user_agent = _origin(request)
    return Caller(record.id, record.tenant_id, Role(record.role), client, user_agent)


def local_caller(request: Request) -> Caller:
    """The caller when keys are switched off (SWESCRIBE_AUTH_DISABLED)."""
    client, user_agent = _origin(request)
    return Caller(LOCAL_OWNER, DEFAULT_TENANT, Role.admin, client, user_agent)


def record_refused_key(sessions: sessionmaker, record: ApiKey | None, request: Request, reason: str) -> None:
    """Record a refused key (unknown or revoked) in the audit trail, as get_caller does."""
    client, user_agent = _origin(request)
    _failed(sessions, record, client, user_agent, request, reason)


def _failed(sessions: sessionmaker, record: ApiKey | None, client: str | None, user_agent: str | None, request, reason: str):
    # A revoked key is known, so its tenant sees the attempt; an unknown one goes to the chain
    # of events without a tenant.
    entry = audit.Entry(
        action=audit.Action.AUTH_FAILED,
        tenant_id=record.tenant_id if record else None,
        key_id=record.id if record else None,
        outcome="denied",
        client=client,
        user_agent=user_agent,
        detail={"reason": reason, "method": request.method, "path": request.url.path[:200]},
    )
    try:
        audit.record(sessions, entry)
    except Exception:  # noqa: BLE001 - a refusal stands whether or not it could be recorded
        logger.warning("could not record a failed authentication in the audit trail", exc_info=True)


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_admin(caller: CallerDep) -> Caller:
    if caller.role != Role.admin:
        raise ApiError(403, "forbidden", f"this needs an admin key; this key's role is {caller.role}")
    return caller


AdminDep = Annotated[Caller, Depends(get_admin)]


def get_owner(caller: CallerDep) -> str:
    """The caller's key id (the owner of the jobs it creates)."""
    return caller.key_id


OwnerDep = Annotated[str, Depends(get_owner)]
