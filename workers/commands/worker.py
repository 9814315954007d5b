"""`swescribe worker`: a Celery worker for the gpu (transcription) and/or cpu queue.

The gpu queue has two lanes (workers/tasks/names.py): `gpu` serves both, `gpu-normal` only
uploads and `gpu-bulk` only folder ingestion. Two workers, one per lane, let an upload run
beside a long bulk batch instead of after it (on a CPU host they share the cores).
"""

from __future__ import annotations

import os

import click

from workers.extras import exit_unless_installed
from workers.settings import get_settings
from workers.tasks.names import CPU_QUEUE, LANE_QUEUES, WORKER_GPU_QUEUES, gpu_lane


@click.command()
@click.option(
    "--queues",
    default="gpu,cpu",
    show_default=True,
    help="Queues to consume: gpu (transcription; or only one lane: gpu-normal for uploads, gpu-bulk for folder "
    "ingestion), cpu (summaries, webhooks).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes; 1 per GPU for the gpu queue.",
)
@click.option("--name", default=None, help="Worker node name (default: <queues>@<host>).")
def worker(queues: str, concurrency: int, name: str | None) -> None:
    """Run a Celery worker."""
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = set(names) - {*WORKER_GPU_QUEUES, CPU_QUEUE}
    if not names or unknown:
        raise click.BadParameter(
            f"queues must be gpu (or gpu-normal, gpu-bulk) and/or cpu, got {queues!r}", param_hint="--queues"
        )
    lane = gpu_lane(names)
    if lane is not None:
        exit_unless_installed("the gpu queue (transcription)", "worker")
        # Read by the scheduler in the pool processes (settings.gpu_lane), before any settings load.
        os.environ["SWESCRIBE_GPU_LANE"] = lane
        get_settings.cache_clear()
    from workers.tasks.celery_app import app as celery_app

    if CPU_QUEUE in names:
        from workers.tasks.purge import start_purger
        from workers.tasks.reconcile import start_reconciler
        from workers.tasks.webhooks import start_sweeper

        start_sweeper(get_settings())
        start_reconciler(get_settings())
        start_purger(get_settings())
    consumed = [*(LANE_QUEUES[lane] if lane else ()), *([CPU_QUEUE] if CPU_QUEUE in names else [])]
    celery_app.worker_main(
        [
            "worker",
            "--queues",
            ",".join(consumed),
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            "--hostname",
            name or f"{'-'.join(names)}@%h",
            "--loglevel",
            "INFO",
        ]
    )
