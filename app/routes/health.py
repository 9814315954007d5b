"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

from app.deps import SessionsDep, StorageDep
from app.exposure import MetricsAccessDep
from app.metrics import JobMetricsCollector, broker_client

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Database, broker and storage are usable")
def readyz(request: Request, sessions: SessionsDep, storage: StorageDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as e:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"unavailable: {type(e).__name__}"
    try:
        broker_client(request.app.state.settings.redis_url).ping()
        checks["broker"] = "ok"
    except Exception as e:  # noqa: BLE001
        checks["broker"] = f"unavailable: {type(e).__name__}"
    try:
        storage.check()
        checks["storage"] = "ok"
    except Exception as e:  # noqa: BLE001
        checks["storage"] = f"unavailable: {e}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics (Bearer SWESCRIBE_METRICS_TOKEN)")
def metrics(request: Request, sessions: SessionsDep, _access: MetricsAccessDep) -> Response:
    registry = CollectorRegistry()
    registry.register(JobMetricsCollector(sessions, request.app.state.settings.redis_url))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
