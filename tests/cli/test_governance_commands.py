"""`swescribe tenants`, `keys create/list/revoke` and `audit verify` against a SQLite file."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from workers.commands.cli import main
from workers.settings import get_settings
from workers.store.db import AuditEvent, get_engine, session_factory
from workers.store.keys import find_key


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'swescribe.db'}"
    monkeypatch.setenv("SWESCRIBE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    get_engine(url).dispose()


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_tenants_keys_and_the_audit_chain_from_the_command_line(url):
    made = run("tenants", "create", "Kommun B")
    assert made.exit_code == 0, made.output
    tenant_id = made.output.strip().splitlines()[-1]
    assert run("tenants", "create", "Kommun B").exit_code != 0
    created = run("keys", "create", "ärendesystem", "--tenant", "Kommun B", "--role", "uploader")
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]  # the contract: the key on the last line
    sessions = session_factory(url)
    record = find_key(sessions, key)
    assert (record.tenant_id, record.role) == (tenant_id, "uploader")
    plain = run("keys", "create", "lokal")
    assert find_key(sessions, plain.output.strip().splitlines()[-1]).tenant_id == "default"
    assert run("keys", "create", "x", "--tenant", "nobody").exit_code == 2
    assert run("keys", "create", "x", "--role", "owner").exit_code == 2

    listed = run("keys", "list", "--tenant", "Kommun B")
    assert listed.exit_code == 0 and record.id in listed.output and "lokal" not in listed.output
    assert key not in run("keys", "list").output
    revoked = run("keys", "revoke", record.id)
    assert revoked.exit_code == 0, revoked.output
    assert find_key(sessions, key) is None
    assert run("keys", "revoke", record.id).exit_code == 1, "revoked already"
    assert run("keys", "revoke", "no-such-key").exit_code == 2

    verified = run("audit", "verify")
    assert verified.exit_code == 0 and "intact: 4 events" in verified.output, verified.output
    with sessions() as session:
        session.execute(update(AuditEvent).where(AuditEvent.action == "key.created").values(detail={"role": "admin"}))
        session.commit()
    broken = run("audit", "verify")
    assert broken.exit_code == 1 and "broken" in broken.output and "edited" in broken.output, broken.output
