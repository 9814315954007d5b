"""Celery over the Redis broker: queue "gpu" for transcription, "cpu" for summaries and webhooks.

Tasks take job ids and are idempotent; the job row, not the broker, says what is done.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from workers.settings import Settings, get_settings
from workers.store.db import forget_engines_after_fork
from workers.tasks.names import CPU_QUEUE, DELIVER_WEBHOOK_TASK, GPU_QUEUE, SUMMARIZE_TASK, TRANSCRIBE_TASK


def make_celery(settings: Settings) -> Celery:
    app = Celery(
        "swescribe",
        broker=settings.redis_url,
        include=["workers.tasks.transcription", "workers.tasks.webhooks", "workers.tasks.summaries"],
    )
    app.conf.update(
        # A task is acknowledged only when it has finished, so a worker killed mid-job leaves
        # the message to be delivered again; one message at a time per worker process.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Redis redelivers unacknowledged messages after this long: it must exceed the
        # longest job, or a healthy worker's job would be started a second time.
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        task_time_limit=settings.job_time_limit_s,
        task_soft_time_limit=int(settings.job_time_limit_s * 0.95),
        task_routes={
            TRANSCRIBE_TASK: {"queue": GPU_QUEUE},
            DELIVER_WEBHOOK_TASK: {"queue": CPU_QUEUE},
            SUMMARIZE_TASK: {"queue": CPU_QUEUE},
        },
        task_default_queue=CPU_QUEUE,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        # The API publishes while a client waits: a broker that is down must fail the request
        # in seconds, not hang it in reconnect loops.
        broker_connection_timeout=5,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        worker_hijack_root_logger=False,
    )
    return app


app = make_celery(get_settings())


@worker_process_init.connect
def _fresh_database_pools(**_kwargs) -> None:
    # Pool processes are forked from a main process that may hold connections (the webhook
    # sweeper); each child opens its own.
    forget_engines_after_fork()
