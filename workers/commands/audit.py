"""`swescribe audit`: check the audit trail's hash chains."""

from __future__ import annotations

import click

from workers.settings import get_settings


@click.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@click.option("--tenant", default=None, help="Only this tenant's chain (name or id).")
def audit_verify(tenant: str | None) -> None:
    """Check every event's hash and link; report the first broken link of each chain (exit 1)."""
    from workers.store import audit as trail
    from workers.store.db import session_factory
    from workers.store.keys import TenantNotFound, find_tenant
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.sqlalchemy_url)
    sessions = session_factory(settings.sqlalchemy_url)
    tenant_id = None
    if tenant:
        try:
            tenant_id = find_tenant(sessions, tenant).id
        except TenantNotFound as e:
            raise click.BadParameter(str(e), param_hint="--tenant") from e
    checked, broken = trail.verify(sessions, tenant_id)
    for link in broken:
        chain = link.tenant_id or "(no tenant)"
        click.echo(f"broken: tenant {chain}, event {link.seq} (row id {link.event_id}): {link.reason}")
    if broken:
        raise SystemExit(1)
    click.echo(f"audit trail intact: {checked} events checked")
