"""`swescribe api`: the HTTP API (FastAPI under uvicorn)."""

from __future__ import annotations

import click

from workers.settings import get_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--migrate/--no-migrate", default=True, show_default=True, help="Apply database migrations first.")
def api(host: str, port: int, migrate: bool) -> None:
    """Serve the HTTP API (FastAPI under uvicorn)."""
    import uvicorn

    from workers.store.migrate import upgrade

    settings = get_settings()
    if migrate:
        upgrade(settings.sqlalchemy_url)
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, log_level="info")
