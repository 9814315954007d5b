"""Task and queue names: what the API, the ingester and the workers agree on.

A module with no side effects (importing workers.tasks.celery_app builds the Celery app from the
settings), so the API can name tasks without loading anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery import Celery

TRANSCRIBE_TASK = "swescribe.transcribe"
DELIVER_WEBHOOK_TASK = "swescribe.deliver_webhook"
# Summaries run on the cpu queue: the GPU queue never waits for the LLM.
SUMMARIZE_TASK = "swescribe.summarize"
CPU_QUEUE = "cpu"

# Transcription tickets (workers/store/queue.py) go to one queue per lane: normal jobs (uploads)
# to "gpu", bulk jobs (folder ingestion) to "gpu-bulk". A gpu worker serves both lanes, or one
# (`swescribe worker --queues gpu-normal` / `gpu-bulk`), so that on a host where a large batch
# takes long an upload need not wait for the bulk batch in front of it.
GPU_QUEUE = "gpu"
BULK_QUEUE = "gpu-bulk"
LANE_QUEUES = {"normal": (GPU_QUEUE,), "bulk": (BULK_QUEUE,), "all": (GPU_QUEUE, BULK_QUEUE)}
# What `swescribe worker --queues` accepts for transcription, and the lanes each name serves.
WORKER_GPU_QUEUES = {"gpu": ("normal", "bulk"), "gpu-normal": ("normal",), "gpu-bulk": ("bulk",)}

# Sends the transcription ticket of (job id, priority) to its lane's queue.
SendTicket = Callable[[str, int], None]


def gpu_lane(names: list[str]) -> str | None:
    """The lane (settings.gpu_lane) of a worker started with `--queues names`; None without a gpu queue."""
    lanes = {lane for name in names for lane in WORKER_GPU_QUEUES.get(name, ())}
    if not lanes:
        return None
    return lanes.pop() if len(lanes) == 1 else "all"


def ticket_queue(priority: int) -> str:
    """The queue of a job's ticket by its priority (workers.store.db.Priority: 0 normal, higher bulk)."""
    return GPU_QUEUE if priority <= 0 else BULK_QUEUE


def send_ticket(celery: Celery, job_id: str, priority: int, countdown: float | None = None) -> None:
    """Send a job's transcription ticket to its lane's queue (after `countdown` seconds)."""
    celery.send_task(TRANSCRIBE_TASK, args=[job_id], queue=ticket_queue(priority), countdown=countdown)
