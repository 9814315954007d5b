"""API keys: shown once at creation, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from workers.store.db import ApiKey

KEY_PREFIX = "sws_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(sessions: sessionmaker, name: str) -> tuple[ApiKey, str]:
    """Return the stored record and the plain key, which exists nowhere else afterwards."""
    if not name.strip():
        raise ValueError("a key needs a name")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(name=name.strip(), key_hash=hash_key(key))
    with sessions() as session:
        session.add(record)
        session.commit()
    return record, key


def find_key(sessions: sessionmaker, key: str) -> ApiKey | None:
    """The active key record matching `key`, or None."""
    with sessions() as session:
        record = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if record is None or record.revoked_at is not None:
        return None
    return record
