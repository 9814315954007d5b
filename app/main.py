"""The FastAPI application: `uvicorn app.main:create_app --factory`, or `swescribe api`."""

from __future__ import annotations

from fastapi import FastAPI

from workers.tasks.celery_app import make_celery
from workers.store.db import session_factory
from workers.settings import Settings, get_settings
from workers.store.storage import storage_from_settings

from app.errors import install_error_handlers
from app.routes import health, jobs, openai_compat, webhooks


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="swescribe",
        version="1",
        description="Self-hosted Swedish speech-to-text: upload recordings, get transcripts.",
    )
    app.state.settings = settings
    app.state.sessions = session_factory(settings.sqlalchemy_url)
    app.state.storage = storage_from_settings(settings)
    app.state.celery = make_celery(settings)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(openai_compat.router)
    app.include_router(webhooks.router)
    return app
