from pathlib import Path

from workers.settings import Settings

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
