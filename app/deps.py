"""FastAPI dependencies: settings, database sessions, storage, the broker, job intake, the caller."""

from __future__ import annotations

from typing import Annotated

from celery import Celery
from fastapi import Depends, Header, Request
from sqlalchemy.orm import sessionmaker

from app.errors import ApiError
from workers.intake.submit import Intake
from workers.settings import Settings
from workers.store.keys import find_key
from workers.store.storage import Storage
from workers.tasks.names import GPU_QUEUE, TRANSCRIBE_TASK

LOCAL_OWNER = "local"


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
    return Intake(sessions, storage, lambda job_id: celery.send_task(TRANSCRIBE_TASK, args=[job_id], queue=GPU_QUEUE))


IntakeDep = Annotated[Intake, Depends(get_intake)]


def get_owner(settings: SettingsDep, sessions: SessionsDep, authorization: Annotated[str | None, Header()] = None) -> str:
    """The caller's identity: its API key id, or "local" when auth is switched off."""
    if settings.auth_disabled:
        return LOCAL_OWNER
    unauthorized = {"WWW-Authenticate": "Bearer"}
    if not authorization or not authorization.lower().startswith("bearer "):
        raise ApiError(401, "unauthorized", "send an API key: Authorization: Bearer <key>", unauthorized)
    record = find_key(sessions, authorization[7:].strip())
    if record is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key", unauthorized)
    return record.id


OwnerDep = Annotated[str, Depends(get_owner)]
