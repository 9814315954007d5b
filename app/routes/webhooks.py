"""Webhook settings of an API key, and the deliveries of a job."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Response

from app.deps import CallerDep, CeleryDep, OwnerDep, SessionsDep, SettingsDep, StorageDep
from app.errors import ApiError
from app.routes.lookups import checked_webhook_url, own_job
from app.schemas import AttemptPublic, DeliveryList, DeliveryPublic, WebhookEndpointPublic, WebhookEndpointUpdate
from workers.store import audit, jobs, revisions
from workers.store.audit import Action
from workers.store.db import as_utc
from workers.store.storage import ObjectNotFound
from workers.tasks.names import CPU_QUEUE, DELIVER_WEBHOOK_TASK
from workers.webhooks import store
from workers.webhooks.notify import refresh_transcripts

router = APIRouter(prefix="/v1", tags=["webhooks"])


@router.put("/webhook", response_model=WebhookEndpointPublic, summary="Set this key's webhook URL; creates its signing secret")
def put_webhook(
    body: WebhookEndpointUpdate, caller: CallerDep, sessions: SessionsDep, settings: SettingsDep
) -> WebhookEndpointPublic:
    url = checked_webhook_url(body.url, settings) if body.url else None
    endpoint, created = store.set_endpoint(sessions, caller.key_id, url)
    changed = {"url_set": url is not None, "secret_created": created}
    audit.record(sessions, caller.audit(Action.WEBHOOK_CHANGED, object_type="key", object_id=caller.key_id, detail=changed))
    return WebhookEndpointPublic(
        url=endpoint.url,
        secret=endpoint.secret if created else None,
        disabled_at=as_utc(endpoint.disabled_at),
        disabled_reason=endpoint.disabled_reason,
        previous_secret_active=endpoint.previous_secret is not None,
    )


@router.get("/webhook", response_model=WebhookEndpointPublic, summary="This key's webhook settings (never the secret)")
def get_webhook(owner: OwnerDep, sessions: SessionsDep) -> WebhookEndpointPublic:
    endpoint = store.get_endpoint(sessions, owner)
    if endpoint is None:
        raise ApiError(404, "no_webhook", "this key has no webhook settings; PUT /v1/webhook creates them")
    return WebhookEndpointPublic(
        url=endpoint.url,
        secret=None,
        disabled_at=as_utc(endpoint.disabled_at),
        disabled_reason=endpoint.disabled_reason,
        previous_secret_active=endpoint.previous_secret is not None,
    )


@router.post(
    "/webhook/secret/rotate",
    response_model=WebhookEndpointPublic,
    summary="A new signing secret; deliveries are signed with the new and the old one until the old is retired",
)
def rotate_secret(caller: CallerDep, sessions: SessionsDep) -> WebhookEndpointPublic:
    endpoint = store.rotate_secret(sessions, caller.key_id)
    if endpoint is None:
        raise ApiError(404, "no_webhook", "this key has no webhook settings; PUT /v1/webhook creates them")
    audit.record(sessions, caller.audit(Action.WEBHOOK_SECRET_ROTATED, object_type="key", object_id=caller.key_id))
    return WebhookEndpointPublic(
        url=endpoint.url,
        secret=endpoint.secret,
        disabled_at=as_utc(endpoint.disabled_at),
        disabled_reason=endpoint.disabled_reason,
        previous_secret_active=True,
    )


@router.delete(
    "/webhook/secret/previous",
    status_code=204,
    summary="Retire the secret before the last rotation: only the current one signs from now on",
)
def retire_previous_secret(caller: CallerDep, sessions: SessionsDep) -> Response:
    if not store.retire_previous_secret(sessions, caller.key_id):
        raise ApiError(404, "no_previous_secret", "this key's webhook has no previous secret to retire")
    audit.record(sessions, caller.audit(Action.WEBHOOK_SECRET_RETIRED, object_type="key", object_id=caller.key_id))
    return Response(status_code=204)


@router.get("/jobs/{job_id}/deliveries", response_model=DeliveryList, summary="Webhook deliveries of a job, with every attempt")
def list_deliveries(job_id: str, caller: CallerDep, sessions: SessionsDep) -> DeliveryList:
    own_job(sessions, job_id, caller)
    return DeliveryList(
        deliveries=[
            DeliveryPublic(
                id=d.id,
                webhook_id=d.message_id,
                event=d.event,
                url=d.url,
                status=d.status,
                next_attempt_at=as_utc(d.next_attempt_at),
                created_at=as_utc(d.created_at),
                redelivered_at=as_utc(d.redelivered_at),
                attempts=[
                    AttemptPublic(
                        attempted_at=as_utc(a.attempted_at), status_code=a.status_code, latency_ms=a.latency_ms, error=a.error
                    )
                    for a in attempts
                ],
            )
            for d, attempts in store.for_job(sessions, job_id)
        ]
    )


@router.post(
    "/jobs/{job_id}/webhook/redeliver",
    status_code=202,
    response_model=DeliveryList,
    summary="Send the job's webhook deliveries again (same webhook-id)",
)
def redeliver(
    job_id: str, caller: CallerDep, sessions: SessionsDep, storage: StorageDep, settings: SettingsDep, celery: CeleryDep
) -> DeliveryList:
    job = own_job(sessions, job_id, caller)
    if job.status not in jobs.FINISHED:
        raise ApiError(409, "job_not_finished", f"job {job_id} is {job.status}; events are sent when it finishes")
    # A transcript gone meanwhile: the bodies are sent as they were made.
    with contextlib.suppress(ObjectNotFound, revisions.RevisionNotFound):
        refresh_transcripts(sessions, storage, settings, job_id)
    ids = store.redeliver(sessions, job_id)
    if not ids:
        raise ApiError(409, "no_deliveries", f"job {job_id} had no webhook to deliver")
    try:
        for delivery_id in ids:
            celery.send_task(DELIVER_WEBHOOK_TASK, args=[delivery_id], queue=CPU_QUEUE)
    except Exception as e:  # noqa: BLE001 - kombu raises many connection error types
        # The deliveries are pending and due: the cpu worker's sweep sends them once the queue is back.
        raise ApiError(
            503,
            "broker_unavailable",
            f"the job queue is unavailable: {e}; the deliveries are due again and go out when it is back",
        ) from e
    return list_deliveries(job_id, caller, sessions)
