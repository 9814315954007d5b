from pathlib import Path

import pytest
from pydantic import ValidationError

from workers.settings import Settings, url_for_display

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_every_setting_is_documented_and_listed_in_env_example():
    listed = ENV_EXAMPLE.read_text()
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert f"SWESCRIBE_{name.upper()}=" in listed, f"SWESCRIBE_{name.upper()} missing from .env.example"


def test_defaults_run_offline_on_sqlite(tmp_path, monkeypatch):
    monkeypatch.setenv("SWESCRIBE_DATA_DIR", str(tmp_path))
    settings = Settings(_env_file=None)
    assert settings.asr_model == "whisper-base-offline"
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'swescribe.db'}"
    assert settings.auth_disabled is False
    assert settings.visibility_timeout_s > settings.job_time_limit_s


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_the_visibility_timeout_must_outlast_the_job_time_limit():
    with pytest.raises(ValidationError) as caught:
        settings(job_time_limit_s=3600, visibility_timeout_s=3600)
    message = str(caught.value)
    assert "SWESCRIBE_VISIBILITY_TIMEOUT_S (3600 s) must be longer than SWESCRIBE_JOB_TIME_LIMIT_S (3600 s)" in message
    assert settings(job_time_limit_s=3600, visibility_timeout_s=3601).visibility_timeout_s == 3601


def test_s3_storage_needs_a_bucket_and_both_keys_or_neither(tmp_path):
    with pytest.raises(ValidationError, match="SWESCRIBE_STORAGE=s3 needs SWESCRIBE_S3_BUCKET"):
        settings(storage="s3")
    with pytest.raises(ValidationError, match="both SWESCRIBE_S3_ACCESS_KEY_ID and SWESCRIBE_S3_SECRET_ACCESS_KEY"):
        settings(storage="s3", s3_bucket="b", s3_access_key_id="id")
    with pytest.raises(ValidationError, match="both SWESCRIBE_S3_ACCESS_KEY_ID and SWESCRIBE_S3_SECRET_ACCESS_KEY"):
        settings(storage="s3", s3_bucket="b", s3_secret_access_key="secret")
    assert settings(storage="s3", s3_bucket="b").s3_access_key_id is None  # AWS credential chain
    assert settings(storage="local", s3_access_key_id="id").storage == "local"  # unused S3 settings are no error


def test_the_summary_answer_must_leave_room_in_the_context():
    with pytest.raises(ValidationError) as caught:
        settings(llm_context_tokens=2048, llm_max_output_tokens=2048)
    assert "SWESCRIBE_LLM_CONTEXT_TOKENS" in str(caught.value) and "SWESCRIBE_LLM_MAX_OUTPUT_TOKENS" in str(caught.value)
    assert settings(llm_context_tokens=32768, llm_max_output_tokens=2048).llm_max_output_tokens == 2048


def test_rules_read_from_the_environment_too(monkeypatch):
    monkeypatch.setenv("SWESCRIBE_JOB_TIME_LIMIT_S", "7200")
    monkeypatch.setenv("SWESCRIBE_VISIBILITY_TIMEOUT_S", "600")
    with pytest.raises(ValidationError, match="SWESCRIBE_VISIBILITY_TIMEOUT_S"):
        Settings(_env_file=None)


@pytest.mark.parametrize("secret_setting", ["SWESCRIBE_HF_TOKEN", "SWESCRIBE_DATABASE_URL"])
def test_a_settings_error_never_shows_the_values_given(monkeypatch, secret_setting):
    # Pydantic would print the input it was given (the settings from the environment) beside the error.
    monkeypatch.setenv(secret_setting, "hunter2")
    monkeypatch.setenv("SWESCRIBE_VISIBILITY_TIMEOUT_S", "1")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://swescribe:hunter2@db:5432/swescribe", "postgresql+psycopg://swescribe:***@db:5432/swescribe"),
        (
            "postgresql+psycopg://db:5432/swescribe?password=hunter2&sslmode=require",
            "postgresql+psycopg://db:5432/swescribe?password=***&sslmode=require",
        ),
        ("redis://:hunter2@redis:6379/0", "redis://:***@redis:6379/0"),
        ("rediss://default:hunter2@redis.example.se:6380/1", "rediss://default:***@redis.example.se:6380/1"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("sqlite:////srv/swescribe/swescribe.db", "sqlite:////srv/swescribe/swescribe.db"),
        ("hunter2", "***"),
    ],
)
def test_urls_are_shown_without_their_passwords(url, shown):
    assert url_for_display(url) == shown


def test_the_up_banner_shows_no_password(capsys):
    from workers.commands.up import _announce

    configured = settings(auth_disabled=True, database_url="postgresql+psycopg://swescribe:hunter2@db:5432/swescribe")
    _announce(configured, "127.0.0.1", 8000, "redis://:redispass@127.0.0.1:6379/0", None)
    banner = capsys.readouterr().err
    assert "hunter2" not in banner and "redispass" not in banner
    assert (
        "database postgresql+psycopg://swescribe:***@db:5432/swescribe" in banner
        and "broker redis://:***@127.0.0.1:6379/0" in banner
    )
