"""The cpu queue's webhook task, and the sweeper that re-sends due deliveries.

A delivery is sent by a task as soon as its job finishes. Retries are not Celery countdowns
(Redis holds those in worker memory and may lose them): the next attempt time is in the
database, and each cpu worker sweeps for due deliveries every few seconds. Claims in the
database keep two sweeps or tasks from sending one delivery at the same time.
"""

from __future__ import annotations

import logging
import threading

from workers.settings import Settings, get_settings
from workers.store.db import session_factory
from workers.tasks.celery_app import app
from workers.tasks.names import CPU_QUEUE, DELIVER_WEBHOOK_TASK
from workers.webhooks import store
from workers.webhooks.delivery import DeliveryOptions, deliver_once
from workers.webhooks.retry_policy import RetryPolicy
from workers.webhooks.url_guard import UrlPolicy

logger = logging.getLogger(__name__)


def delivery_options(settings: Settings) -> DeliveryOptions:
    return DeliveryOptions(
        url_policy=UrlPolicy(allow_private=settings.webhook_allow_private),
        retry=RetryPolicy(give_up_after_s=settings.webhook_retry_window_h * 3600),
        timeout_s=settings.webhook_timeout_s,
    )


def _sessions(url: str):
    return session_factory(url)


@app.task(name=DELIVER_WEBHOOK_TASK, ignore_result=True)
def deliver_webhook(delivery_id: str) -> None:
    settings = get_settings()
    deliver_once(_sessions(settings.sqlalchemy_url), delivery_id, delivery_options(settings))


def start_sweeper(settings: Settings) -> threading.Thread:
    """A daemon thread that queues every due delivery each `webhook_sweep_interval_s`."""
    sessions = _sessions(settings.sqlalchemy_url)
    stop = threading.Event()

    def sweep() -> None:
        while not stop.wait(settings.webhook_sweep_interval_s):
            try:
                for delivery_id in store.due(sessions):
                    app.send_task(DELIVER_WEBHOOK_TASK, args=[delivery_id], queue=CPU_QUEUE)
            except Exception:  # noqa: BLE001 - a database or broker hiccup must not end the sweeper
                logger.exception("webhook sweep failed; trying again")

    thread = threading.Thread(target=sweep, name="webhook-sweeper", daemon=True)
    thread.start()
    return thread
