"""`swescribe tenants`: the organisations or teams keys and jobs belong to."""

from __future__ import annotations

import click

from workers.commands.keys import open_sessions, record_cli_event


@click.group()
def tenants() -> None:
    """Tenants: the organisations or teams keys and jobs belong to."""


@tenants.command("create")
@click.argument("name")
def tenants_create(name: str) -> None:
    """Create a tenant; its id is printed on the last line."""
    from workers.store.audit import Action
    from workers.store.keys import TenantExists, create_tenant

    sessions = open_sessions()
    try:
        tenant = create_tenant(sessions, name)
    except TenantExists as e:
        raise click.ClickException(str(e)) from e
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="NAME") from e
    record_cli_event(sessions, Action.TENANT_CREATED, tenant.id, "tenant", tenant.id)
    click.echo(
        f"created tenant {tenant.name!r}; give it an admin: swescribe keys create NAME --tenant {tenant.name} --role admin",
        err=True,
    )
    click.echo(tenant.id)


@tenants.command("list")
def tenants_list() -> None:
    """Every tenant: id, name, created."""
    from workers.store.keys import list_tenants

    click.echo("id\tname\tcreated")
    for t in list_tenants(open_sessions()):
        click.echo(f"{t.id}\t{t.name}\t{t.created_at.isoformat(timespec='seconds')}")
