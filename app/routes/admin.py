"""/v1/admin: a tenant's admins manage its keys, retention and holds, read its audit trail and
find its jobs (by case reference). Everything is scoped to the caller's own tenant: another
tenant's key or job is a 404."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from app.admin_schemas import (
    AuditEventPublic,
    AuditList,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyPublic,
    KeyWebhookList,
    KeyWebhookPublic,
    RetentionPublic,
    RetentionUpdate,
)
from app.deps import AdminDep, SessionsDep, SettingsDep
from app.errors import ApiError
from app.routes.lookups import checked_webhook_url, own_job
from app.routes.paging import PageCursor, PageLimit, PageOffset, job_page
from app.schemas import JobList, JobPublic, WebhookEndpointUpdate
from workers.store import audit, jobs, keys, retention
from workers.store.audit import Action, AuditFilter
from workers.store.cursor import Listing
from workers.store.db import JobStatus, Role, WebhookEndpoint, as_utc
from workers.webhooks import store as webhook_store

router = APIRouter(prefix="/v1/admin", tags=["admin"])
holds = APIRouter(prefix="/v1/jobs", tags=["admin"])


@router.get("/keys", response_model=KeyList, summary="The tenant's API keys (never the keys themselves)")
def list_keys(caller: AdminDep, sessions: SessionsDep) -> KeyList:
    found = keys.list_keys(sessions, caller.tenant_id)
    audit.record(sessions, caller.audit(Action.ADMIN_LISTED, object_type="keys", detail={"count": len(found)}))
    return KeyList(keys=[KeyPublic.from_key(k) for k in found])


@router.post("/keys", status_code=201, response_model=KeyCreated, summary="Create a key in the tenant; shown only now")
def create_key(body: KeyCreate, caller: AdminDep, sessions: SessionsDep) -> KeyCreated:
    try:
        record, key = keys.create_key(sessions, body.name, caller.tenant_id, body.role)
    except ValueError as e:
        raise ApiError(400, "invalid_key", str(e)) from e
    entry = caller.audit(Action.KEY_CREATED, object_type="key", object_id=record.id, detail={"role": body.role.value})
    audit.record(sessions, entry)
    return KeyCreated(**KeyPublic.from_key(record).model_dump(), key=key)


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke a key of the tenant: it is refused from now on")
def revoke_key(key_id: str, caller: AdminDep, sessions: SessionsDep) -> Response:
    record = keys.get_key(sessions, key_id, caller.tenant_id)
    if record is None:
        raise ApiError(404, "key_not_found", f"no key {key_id}")
    if record.revoked_at is not None:
        raise ApiError(409, "key_revoked", f"key {key_id} was revoked already")
    if record.role == Role.admin and keys.active_admin_count(sessions, caller.tenant_id) <= 1:
        raise ApiError(409, "last_admin", "this is the tenant's last admin key; create another admin key first")
    keys.revoke_key(sessions, key_id, caller.tenant_id)
    audit.record(sessions, caller.audit(Action.KEY_REVOKED, object_type="key", object_id=key_id))
    return Response(status_code=204)


# A key's webhook settings are its own (each case system verifies its own deliveries); the
# tenant's admins see them all and can set or rotate them, e.g. for an uploader key.


def _webhook(endpoint: WebhookEndpoint, secret: str | None = None) -> KeyWebhookPublic:
    return KeyWebhookPublic(
        key_id=endpoint.owner,
        url=endpoint.url,
        secret=secret,
        disabled_at=as_utc(endpoint.disabled_at),
        disabled_reason=endpoint.disabled_reason,
        previous_secret_active=endpoint.previous_secret is not None,
    )


def _tenant_key(sessions, caller, key_id: str) -> None:
    if keys.get_key(sessions, key_id, caller.tenant_id) is None:
        raise ApiError(404, "key_not_found", f"no key {key_id}")


@router.get("/webhooks", response_model=KeyWebhookList, summary="The webhook settings of the tenant's keys (never the secrets)")
def list_webhooks(caller: AdminDep, sessions: SessionsDep) -> KeyWebhookList:
    found = [webhook_store.get_endpoint(sessions, k.id) for k in keys.list_keys(sessions, caller.tenant_id)]
    endpoints = [e for e in found if e is not None]
    audit.record(sessions, caller.audit(Action.ADMIN_LISTED, object_type="webhooks", detail={"count": len(endpoints)}))
    return KeyWebhookList(webhooks=[_webhook(e) for e in endpoints])


@router.put("/keys/{key_id}/webhook", response_model=KeyWebhookPublic, summary="Set a key's webhook URL; creates its secret")
def put_key_webhook(
    key_id: str, body: WebhookEndpointUpdate, caller: AdminDep, sessions: SessionsDep, settings: SettingsDep
) -> KeyWebhookPublic:
    _tenant_key(sessions, caller, key_id)
    url = checked_webhook_url(body.url, settings) if body.url else None
    endpoint, created = webhook_store.set_endpoint(sessions, key_id, url)
    detail = {"url_set": url is not None, "secret_created": created}
    audit.record(sessions, caller.audit(Action.WEBHOOK_CHANGED, object_type="key", object_id=key_id, detail=detail))
    return _webhook(endpoint, endpoint.secret if created else None)


@router.post("/keys/{key_id}/webhook/secret/rotate", response_model=KeyWebhookPublic, summary="Rotate a key's signing secret")
def rotate_key_secret(key_id: str, caller: AdminDep, sessions: SessionsDep) -> KeyWebhookPublic:
    _tenant_key(sessions, caller, key_id)
    endpoint = webhook_store.rotate_secret(sessions, key_id)
    if endpoint is None:
        raise ApiError(
            404, "no_webhook", f"key {key_id} has no webhook settings; PUT /v1/admin/keys/{key_id}/webhook creates them"
        )
    audit.record(sessions, caller.audit(Action.WEBHOOK_SECRET_ROTATED, object_type="key", object_id=key_id))
    return _webhook(endpoint, endpoint.secret)


@router.delete("/keys/{key_id}/webhook/secret/previous", status_code=204, summary="End a key's secret rotation overlap")
def retire_key_secret(key_id: str, caller: AdminDep, sessions: SessionsDep) -> Response:
    _tenant_key(sessions, caller, key_id)
    if not webhook_store.retire_previous_secret(sessions, key_id):
        raise ApiError(404, "no_previous_secret", f"key {key_id}'s webhook has no previous secret to retire")
    audit.record(sessions, caller.audit(Action.WEBHOOK_SECRET_RETIRED, object_type="key", object_id=key_id))
    return Response(status_code=204)


def _retention(sessions, settings, tenant_id: str) -> RetentionPublic:
    found = retention.for_tenant(
        keys.find_tenant(sessions, tenant_id), settings.retention_audio_hours, settings.retention_results_days
    )
    return RetentionPublic(
        audio_hours=found.audio_hours,
        results_days=found.results_days,
        audio_hours_default=found.audio_hours_default,
        results_days_default=found.results_days_default,
    )


@router.get("/retention", response_model=RetentionPublic, summary="How long the tenant's audio and results are kept")
def get_retention(caller: AdminDep, sessions: SessionsDep, settings: SettingsDep) -> RetentionPublic:
    return _retention(sessions, settings, caller.tenant_id)


@router.put("/retention", response_model=RetentionPublic, summary="Set the tenant's retention (null: the operator's default)")
def put_retention(body: RetentionUpdate, caller: AdminDep, sessions: SessionsDep, settings: SettingsDep) -> RetentionPublic:
    keys.set_retention(sessions, caller.tenant_id, body.audio_hours, body.results_days)
    detail = {"audio_hours": body.audio_hours, "results_days": body.results_days}
    audit.record(
        sessions, caller.audit(Action.RETENTION_CHANGED, object_type="tenant", object_id=caller.tenant_id, detail=detail)
    )
    return _retention(sessions, settings, caller.tenant_id)


@router.get("/jobs", response_model=JobList, summary="The tenant's jobs, e.g. every job of one case reference")
def find_jobs(
    caller: AdminDep,
    sessions: SessionsDep,
    reference: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    status: JobStatus | None = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
    cursor: PageCursor = None,
) -> JobList:
    listing = Listing(tenant_id=caller.tenant_id, status=status, reference=reference)
    page = job_page(sessions, listing, limit, offset, cursor)
    # The reference itself may be personal data: the trail records only that one was searched.
    detail = {"by_reference": reference is not None, "count": len(page.jobs)}
    audit.record(sessions, caller.audit(Action.ADMIN_LISTED, object_type="jobs", detail=detail))
    return page


@router.get(
    "/audit",
    summary="The tenant's audit trail, oldest first; format=jsonl exports every matching event",
    responses={200: {"content": {"application/json": {}, "application/x-ndjson": {}}}},
)
def get_audit(
    caller: AdminDep,
    sessions: SessionsDep,
    action: Annotated[str | None, Query(max_length=64, description="an action, or a prefix ending in '.' (key.)")] = None,
    key_id: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Annotated[str | None, Query(max_length=32)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    format: Literal["json", "jsonl"] = "json",  # noqa: A002 - the public parameter name
) -> Response:
    query = AuditFilter(caller.tenant_id, action, key_id, object_id, outcome, since, until)
    # Recorded first, so an export includes the fact that it was made.
    audit.record(sessions, caller.audit(Action.ADMIN_LISTED, object_type="audit", detail={"format": format}))
    if format == "jsonl":

        def lines() -> Iterator[bytes]:
            for event in audit.export(sessions, query):
                yield (json.dumps(audit.as_dict(event), ensure_ascii=False) + "\n").encode("utf-8")

        headers = {"Content-Disposition": f'attachment; filename="audit-{caller.tenant_id}.jsonl"'}
        return StreamingResponse(lines(), media_type="application/x-ndjson", headers=headers)
    events = [AuditEventPublic(**audit.as_dict(e)) for e in audit.find(sessions, query, limit, offset)]
    return Response(AuditList(events=events, limit=limit, offset=offset).model_dump_json(), media_type="application/json")


@holds.post(
    "/{job_id}/hold", response_model=JobPublic, summary="Put a job under legal hold: never purged or deleted until released"
)
def set_hold(job_id: str, caller: AdminDep, sessions: SessionsDep) -> JobPublic:
    own_job(sessions, job_id, caller)
    if jobs.set_hold(sessions, job_id, True):
        audit.record(sessions, caller.audit(Action.HOLD_SET, object_type="job", object_id=job_id))
    return JobPublic.from_job(own_job(sessions, job_id, caller))


@holds.delete("/{job_id}/hold", response_model=JobPublic, summary="Release a job's legal hold; retention applies again")
def release_hold(job_id: str, caller: AdminDep, sessions: SessionsDep) -> JobPublic:
    own_job(sessions, job_id, caller)
    if jobs.set_hold(sessions, job_id, False):
        audit.record(sessions, caller.audit(Action.HOLD_RELEASED, object_type="job", object_id=job_id))
    return JobPublic.from_job(own_job(sessions, job_id, caller))
