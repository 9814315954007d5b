"""`swescribe keys`: API keys, the tenant each belongs to and its role."""

from __future__ import annotations

import click

from workers.settings import get_settings

ROLES = ("admin", "member", "uploader")


def open_sessions():
    from workers.store.db import session_factory
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.sqlalchemy_url)
    return session_factory(settings.sqlalchemy_url)


def tenant_named(sessions, name: str, param_hint: str = "--tenant"):
    from workers.store.keys import TenantNotFound, find_tenant

    try:
        return find_tenant(sessions, name)
    except TenantNotFound as e:
        raise click.BadParameter(f"{e}; `swescribe tenants create NAME` makes one", param_hint=param_hint) from e


def record_cli_event(sessions, action: str, tenant_id: str, object_type: str, object_id: str, detail: dict | None = None) -> None:
    import getpass

    from workers.store import audit

    # The operator at the console: no key; the OS user name says who.
    entry = audit.Entry(
        action=action,
        tenant_id=tenant_id,
        object_type=object_type,
        object_id=object_id,
        client="cli",
        user_agent=f"swescribe-cli ({getpass.getuser()})",
        detail=detail or {},
    )
    audit.record(sessions, entry)


@click.group()
def keys() -> None:
    """API keys: create, list, revoke."""


@keys.command("create")
@click.argument("name")
@click.option("--tenant", default="default", show_default=True, help="Tenant name or id the key belongs to.")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True, help="What the key may do.")
def keys_create(name: str, tenant: str, role: str) -> None:
    """Create an API key; the key is printed once, on the last line."""
    from workers.store.audit import Action
    from workers.store.keys import create_key

    sessions = open_sessions()
    found = tenant_named(sessions, tenant)
    try:
        record, key = create_key(sessions, name, found.id, role)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="NAME") from e
    record_cli_event(sessions, Action.KEY_CREATED, found.id, "key", record.id, {"role": role})
    click.echo(f"created {role} key {record.id} named {record.name!r} in tenant {found.name!r}; it is shown only now:", err=True)
    click.echo(key)


@keys.command("list")
@click.option("--tenant", default=None, help="Only this tenant's keys (name or id).")
def keys_list(tenant: str | None) -> None:
    """Every key (never the key itself): id, tenant, role, name, created, revoked."""
    from workers.store.keys import list_keys, list_tenants

    sessions = open_sessions()
    names = {t.id: t.name for t in list_tenants(sessions)}
    tenant_id = tenant_named(sessions, tenant).id if tenant else None
    click.echo("id\ttenant\trole\tname\tcreated\trevoked")
    for k in list_keys(sessions, tenant_id):
        revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "-"
        created = k.created_at.isoformat(timespec="seconds")
        click.echo(f"{k.id}\t{names.get(k.tenant_id, k.tenant_id)}\t{k.role}\t{k.name}\t{created}\t{revoked}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key: every request with it is refused from now on."""
    from workers.store.audit import Action
    from workers.store.keys import get_key, revoke_key

    sessions = open_sessions()
    record = get_key(sessions, key_id)
    if record is None:
        raise click.BadParameter(f"no key {key_id!r} (`swescribe keys list` shows them)", param_hint="KEY_ID")
    if not revoke_key(sessions, key_id):
        raise click.ClickException(f"key {key_id} was revoked already")
    record_cli_event(sessions, Action.KEY_REVOKED, record.tenant_id, "key", key_id)
    click.echo(f"revoked key {key_id} ({record.name!r})")
