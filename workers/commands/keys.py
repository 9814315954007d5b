"""`swescribe keys`: API keys."""

from __future__ import annotations

import click

from workers.settings import get_settings


@click.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.argument("name")
def keys_create(name: str) -> None:
    """Create an API key; the key is printed once, on the last line."""
    from workers.store.db import session_factory
    from workers.store.keys import create_key
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.sqlalchemy_url)
    try:
        record, key = create_key(session_factory(settings.sqlalchemy_url), name)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="NAME") from e
    click.echo(f"created key {record.id} named {record.name!r}; it is shown only now:", err=True)
    click.echo(key)
