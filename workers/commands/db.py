"""`swescribe db`: the job database."""

from __future__ import annotations

import click

from workers.settings import get_settings


@click.group()
def db() -> None:
    """The job database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (keeps existing rows)."""
    from workers.store.migrate import upgrade

    upgrade(get_settings().sqlalchemy_url)
    click.echo("database is up to date")
