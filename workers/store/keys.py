"""Tenants and API keys: a key is shown once at creation, stored only as a hash, belongs to
one tenant with one role, and works until it is revoked (so a new key and the old one work
side by side while a client rotates)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from workers.store.db import DEFAULT_TENANT, ApiKey, Role, Tenant, utcnow

KEY_PREFIX = "sws_"


class TenantNotFound(LookupError):
    pass


class TenantExists(ValueError):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_tenant(sessions: sessionmaker, name: str) -> Tenant:
    name = name.strip()
    if not name:
        raise ValueError("a tenant needs a name")
    if len(name) > 200:
        raise ValueError("a tenant name has at most 200 characters")
    tenant = Tenant(name=name, created_at=utcnow())
    with sessions() as session:
        session.add(tenant)
        try:
            session.commit()
        except IntegrityError as e:
            raise TenantExists(f"a tenant named {name!r} exists") from e
    return tenant


def find_tenant(sessions: sessionmaker, id_or_name: str) -> Tenant:
    """The tenant with this id, or else this name; TenantNotFound otherwise."""
    with sessions() as session:
        tenant = session.get(Tenant, id_or_name) or session.scalar(select(Tenant).where(Tenant.name == id_or_name))
    if tenant is None:
        raise TenantNotFound(f"no tenant {id_or_name!r}")
    return tenant


def list_tenants(sessions: sessionmaker) -> list[Tenant]:
    with sessions() as session:
        return list(session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.id)))


def create_key(sessions: sessionmaker, name: str, tenant_id: str = DEFAULT_TENANT, role: str = Role.member) -> tuple[ApiKey, str]:
    """Return the stored record and the plain key, which exists nowhere else afterwards."""
    if not name.strip():
        raise ValueError("a key needs a name")
    if role not in Role.__members__:
        raise ValueError(f"role must be one of {', '.join(Role)}")
    find_tenant(sessions, tenant_id)  # TenantNotFound before anything is made
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(name=name.strip()[:200], key_hash=hash_key(key), tenant_id=tenant_id, role=role, created_at=utcnow())
    with sessions() as session:
        session.add(record)
        session.commit()
    return record, key


def lookup_key(sessions: sessionmaker, key: str) -> ApiKey | None:
    """The key record matching `key`, revoked or not, or None."""
    with sessions() as session:
        return session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))


def find_key(sessions: sessionmaker, key: str) -> ApiKey | None:
    """The active key record matching `key`, or None."""
    record = lookup_key(sessions, key)
    if record is None or record.revoked_at is not None:
        return None
    return record


def get_key(sessions: sessionmaker, key_id: str, tenant_id: str | None = None) -> ApiKey | None:
    """The key record (revoked or not); None if absent or of another tenant (tenant_id None: any)."""
    with sessions() as session:
        record = session.get(ApiKey, key_id)
    if record is None or (tenant_id is not None and record.tenant_id != tenant_id):
        return None
    return record


def list_keys(sessions: sessionmaker, tenant_id: str | None = None, include_revoked: bool = True) -> list[ApiKey]:
    query = select(ApiKey)
    if tenant_id is not None:
        query = query.where(ApiKey.tenant_id == tenant_id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    with sessions() as session:
        return list(session.scalars(query.order_by(ApiKey.created_at, ApiKey.id)))


def revoke_key(sessions: sessionmaker, key_id: str, tenant_id: str | None = None) -> bool:
    """Revoke the key from now on; False if it does not exist (in that tenant) or was revoked
    already (its first revocation time stands)."""
    guard = [ApiKey.id == key_id, ApiKey.revoked_at.is_(None)]
    if tenant_id is not None:
        guard.append(ApiKey.tenant_id == tenant_id)
    with sessions() as session:
        result = session.execute(update(ApiKey).where(*guard).values(revoked_at=utcnow()))
        session.commit()
        return bool(result.rowcount)


def set_retention(sessions: sessionmaker, tenant_id: str, audio_hours: int | None, results_days: int | None) -> Tenant:
    """Set the tenant's retention (None: back to the operator's default)."""
    for label, value in (("audio hours", audio_hours), ("results days", results_days)):
        if value is not None and not 0 <= value <= 100_000:
            raise ValueError(f"retention {label} must be between 0 and 100000")
    with sessions() as session:
        session.execute(
            update(Tenant)
            .where(Tenant.id == tenant_id)
            .values(retention_audio_hours=audio_hours, retention_results_days=results_days)
        )
        session.commit()
        tenant = session.get(Tenant, tenant_id, populate_existing=True)
    if tenant is None:
        raise TenantNotFound(f"no tenant {tenant_id!r}")
    return tenant


def active_admin_count(sessions: sessionmaker, tenant_id: str) -> int:
    return len([k for k in list_keys(sessions, tenant_id, include_revoked=False) if k.role == Role.admin])
