"""`swescribe api`: the HTTP API (FastAPI under uvicorn)."""

from __future__ import annotations

import sys
from functools import partial

import click

from workers.settings import get_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--migrate/--no-migrate", default=True, show_default=True, help="Apply database migrations first.")
def api(host: str, port: int, migrate: bool) -> None:
    """Serve the HTTP API (FastAPI under uvicorn)."""
    import uvicorn

    from app.exposure import UnsafeBind, check_bind
    from app.main import create_app
    from workers.logs import uvicorn_log_config
    from workers.store.migrate import upgrade

    settings = get_settings()
    try:
        # Before migrating or binding: a refused start changes nothing.
        check_bind(settings, host)
    except UnsafeBind as e:
        click.echo(f"swescribe api: not started: {e}", err=True)
        sys.exit(2)
    if migrate:
        upgrade(settings.sqlalchemy_url)
    # The app is told its address: it decides whether the API documentation is public.
    uvicorn.run(
        partial(create_app, settings, bind_host=host),
        factory=True,
        host=host,
        port=port,
        log_level="info",
        log_config=uvicorn_log_config(settings.log_format),
    )
