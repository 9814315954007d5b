"""The FastAPI application: `swescribe api`, or `uvicorn app.main:create_app --factory`.

Started by hand under uvicorn the app does not know the address it listens on, so it treats
it as reachable from other machines: the API documentation is then only served with
SWESCRIBE_PUBLIC_DOCS=true.
"""

from __future__ import annotations

from fastapi import FastAPI

from app import web
from app.errors import install_error_handlers
from app.exposure import check_bind, docs_are_public, warn_if_open
from app.routes import admin, health, jobs, openai_compat, revisions, webhooks
from workers.settings import Settings, get_settings
from workers.store.db import session_factory
from workers.store.storage import storage_from_settings
from workers.tasks.celery_app import make_celery


def create_app(settings: Settings | None = None, bind_host: str | None = None) -> FastAPI:
    """The API; `bind_host` is the address it will listen on (None: unknown), which decides
    whether SWESCRIBE_PUBLIC_DOCS=auto serves the documentation and whether keys may be off
    (app.exposure.UnsafeBind otherwise)."""
    settings = settings or get_settings()
    if bind_host is not None:
        check_bind(settings, bind_host)
    warn_if_open(settings, bind_host)
    docs = docs_are_public(settings, bind_host)
    app = FastAPI(
        title="swescribe",
        version="1",
        description="Self-hosted Swedish speech-to-text: upload recordings, get transcripts.",
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.settings = settings
    app.state.sessions = session_factory(settings.sqlalchemy_url)
    app.state.storage = storage_from_settings(settings)
    app.state.celery = make_celery(settings)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(revisions.router)
    app.include_router(openai_compat.router)
    app.include_router(webhooks.router)
    app.include_router(admin.router)
    app.include_router(admin.holds)
    web.install(app)
    return app
