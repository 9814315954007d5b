"""The web app in-process, on the API tests' app (real SQLite and local storage, a fake broker)."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import _frozen_heap, api, migrated_template, settings_overrides  # noqa: F401 - fixtures

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client_api, key: str | None = None) -> str:
    """Sign the TestClient in with a key; returns the session's CSRF token."""
    page = client_api.client.get("/sign-in")
    response = client_api.client.post(
        "/sign-in", data={"key": key or client_api.key, "csrf": csrf_of(page.text), "next": "/jobs"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return csrf_of(client_api.client.get("/jobs").text)


@pytest.fixture
def web(api):  # noqa: F811 - the fixture imported above
    """The API fixture, signed in as its first key (an admin)."""
    api.csrf = sign_in(api)
    return api
