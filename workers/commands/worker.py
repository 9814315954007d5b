"""`swescribe worker`: a Celery worker for the gpu (transcription) and/or cpu queue."""

from __future__ import annotations

import click

from workers.extras import exit_unless_installed
from workers.settings import get_settings


@click.command()
@click.option("--queues", default="gpu,cpu", show_default=True, help="Queues to consume: gpu (transcription), cpu.")
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
    unknown = set(names) - {"gpu", "cpu"}
    if not names or unknown:
        raise click.BadParameter(f"queues must be gpu and/or cpu, got {queues!r}", param_hint="--queues")
    if "gpu" in names:
        exit_unless_installed("the gpu queue (transcription)", "worker")
    from workers.tasks.celery_app import app as celery_app

    if "cpu" in names:
        from workers.tasks.purge import start_purger
        from workers.tasks.reconcile import start_reconciler
        from workers.tasks.webhooks import start_sweeper

        start_sweeper(get_settings())
        start_reconciler(get_settings())
        start_purger(get_settings())
    celery_app.worker_main(
        [
            "worker",
            "--queues",
            ",".join(names),
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
