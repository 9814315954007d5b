"""What answers without an API key: /metrics only with its own token (off when none is set,
unless keys are off altogether), the API documentation as SWESCRIBE_PUBLIC_DOCS and the bind
address say, and no keyless API on an address other machines can reach."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.exposure import UnsafeBind, check_bind, is_loopback_host
from app.main import create_app
from tests.api.conftest import REPO_ROOT, assert_error, completed_job, make_settings

TOKEN = "prometheus-scrape-token-0123456789"
NO_BROKER = "redis://127.0.0.1:1/0"  # nothing listens there: the queue depth is left out at once
DOC_PATHS = ("/docs", "/redoc", "/openapi.json")


# --- /metrics ----------------------------------------------------------------------------------


@pytest.fixture
def settings_overrides(request) -> dict:
    return {"redis_url": NO_BROKER, **getattr(request, "param", {})}


@pytest.mark.parametrize("settings_overrides", [{"metrics_token": TOKEN}], indirect=True)
def test_metrics_answer_the_token_and_nothing_else(api):
    completed_job(api)
    response = api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert 'swescribe_jobs{status="completed"} 1.0' in response.text
    # Neither no token, a wrong one, another scheme nor an API key (a tenant's key is not the
    # operator's) opens it.
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        api.auth(),
    ):
        refused = api.client.get("/metrics", headers=headers)
        assert_error(refused, 401, "unauthorized")
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "swescribe_jobs" not in refused.text


def test_metrics_are_off_without_a_token_whoever_asks(api):
    # TestClient's client address is not loopback; the rule must not depend on it either way
    # (a reverse proxy on the same host makes every request look local).
    for headers in ({}, api.auth(), {"Authorization": "Bearer anything-at-all-12345"}):
        error = assert_error(api.client.get("/metrics", headers=headers), 403, "metrics_disabled")
        assert "SWESCRIBE_METRICS_TOKEN" in error["message"]


@pytest.mark.parametrize("settings_overrides", [{"auth_disabled": True}], indirect=True)
def test_with_keys_off_metrics_are_as_open_as_the_rest(api):
    assert api.client.get("/metrics").status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"auth_disabled": True, "metrics_token": TOKEN}], indirect=True)
def test_a_configured_token_is_required_even_with_keys_off(api):
    assert_error(api.client.get("/metrics"), 401, "unauthorized")
    assert api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_health_stays_open(api):
    assert api.client.get("/healthz").status_code == 200


def test_a_short_metrics_token_is_refused_at_start(tmp_path):
    with pytest.raises(ValueError, match="SWESCRIBE_METRICS_TOKEN must be at least 16 characters"):
        make_settings(tmp_path, metrics_token="short")
    assert make_settings(tmp_path, metrics_token="").metrics_token.get_secret_value() == ""  # empty: unset


# --- documentation -----------------------------------------------------------------------------


def doc_statuses(tmp_path: Path, bind_host: str | None, **overrides) -> set[int]:
    app = create_app(make_settings(tmp_path / "data", redis_url=NO_BROKER, **overrides), bind_host=bind_host)
    with TestClient(app, raise_server_exceptions=False) as client:
        return {client.get(path).status_code for path in DOC_PATHS}


@pytest.mark.parametrize(
    "public_docs, bind_host, served",
    [
        ("auto", "127.0.0.1", True),
        ("auto", "::1", True),
        ("auto", "localhost", True),
        ("auto", "127.0.0.2", True),
        ("auto", "0.0.0.0", False),
        ("auto", "::", False),
        ("auto", "192.168.1.10", False),
        ("auto", "stt.example.se", False),
        ("auto", None, False),
        (True, "0.0.0.0", True),
        (True, None, True),
        (False, "127.0.0.1", False),
    ],
)
def test_documentation_is_public_as_the_setting_and_bind_say(tmp_path, public_docs, bind_host, served):
    assert doc_statuses(tmp_path, bind_host, public_docs=public_docs) == ({200} if served else {404})


def test_hidden_documentation_keeps_the_error_shape_and_the_api(tmp_path):
    app = create_app(make_settings(tmp_path / "data", redis_url=NO_BROKER), bind_host="0.0.0.0")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert_error(client.get("/openapi.json"), 404, "not_found")
        assert_error(client.get("/v1/jobs"), 401, "unauthorized")  # the routes themselves are there
    # The schema is still built (clients and tests generate it in-process).
    assert "/v1/jobs" in app.openapi()["paths"]


# --- keys off on a reachable address -----------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "stt.example.se", "[::]"])
def test_keys_off_is_refused_on_a_reachable_address(tmp_path, host):
    settings = make_settings(tmp_path, auth_disabled=True)
    assert not is_loopback_host(host)
    with pytest.raises(UnsafeBind, match="SWESCRIBE_AUTH_DISABLED_ALLOW_REMOTE=1"):
        check_bind(settings, host)
    with pytest.raises(UnsafeBind):
        create_app(settings, bind_host=host)
    # Allowed when both settings say so, on loopback, or with keys on.
    check_bind(make_settings(tmp_path, auth_disabled=True, auth_disabled_allow_remote=True), host)
    check_bind(make_settings(tmp_path, auth_disabled=False), host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_keys_off_is_allowed_on_loopback(tmp_path, host):
    check_bind(make_settings(tmp_path, auth_disabled=True), host)


def test_the_api_command_refuses_to_start_without_keys_on_all_interfaces(tmp_path):
    env = {
        **os.environ,
        "SWESCRIBE_AUTH_DISABLED": "1",
        "SWESCRIBE_DATA_DIR": str(tmp_path / "data"),
        "SWESCRIBE_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'swescribe.db'}",
    }
    env.pop("SWESCRIBE_AUTH_DISABLED_ALLOW_REMOTE", None)
    # Should the refusal be missing, the server fails to bind port 1 (exit 1) or, as root, runs
    # until the timeout: either way the test fails, and nothing hangs.
    result = subprocess.run(
        [sys.executable, "-m", "workers.commands.cli", "api", "--host", "0.0.0.0", "--port", "1"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "SWESCRIBE_AUTH_DISABLED=1" in result.stderr and "0.0.0.0" in result.stderr
    assert "SWESCRIBE_AUTH_DISABLED_ALLOW_REMOTE=1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "swescribe.db").exists(), "refused before migrating"
