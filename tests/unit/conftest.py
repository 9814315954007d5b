"""Fixtures shared by the store tests: each runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.stack import scratch_database
from workers.store.db import session_factory
from workers.store.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """An empty database of each kind (a SQLite file, or a fresh PostgreSQL database dropped
    afterwards)."""
    with scratch_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sessions(database_url):
    """Sessions on that database, migrated to the newest revision."""
    upgrade(database_url)
    return session_factory(database_url)
