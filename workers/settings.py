"""Operator settings, read from SWESCRIBE_* environment variables (and a .env file).

Every field is documented: `.env.example` lists them all and a test keeps the two in step.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "swescribe"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWESCRIBE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Audio, results, the SQLite database and the assembled offline model live here.",
    )
    model_cache_dir: Path | None = Field(
        default=None,
        description="Where models are assembled or downloaded; default: DATA_DIR/models.",
    )
    asr_model: str = Field(
        default="whisper-base-offline",
        description=(
            "Speech model: kb-whisper-large (production), kb-whisper-medium/-small/-base/-tiny, "
            "whisper-base-offline (installed with swescribe, for offline use and tests), "
            "a Hugging Face repo id, or a local CTranslate2 folder."
        ),
    )
    asr_device: str = Field(default="auto", description="auto (GPU when present), cuda or cpu.")
    asr_compute_type: str = Field(default="auto", description="auto (float16 on GPU, int8 on CPU) or a CTranslate2 type.")
    asr_cpu_threads: int = Field(default=0, ge=0, description="CPU threads per transcription; 0 lets CTranslate2 decide.")
    asr_language: str = Field(default="sv", description="Default spoken language; 'auto' detects it per recording.")
    asr_batch_size: int = Field(
        default=1, ge=1, description="Windows decoded at once; above 1 uses batched inference (GPU throughput)."
    )
    hf_token: SecretStr | None = Field(default=None, description="Hugging Face token for gated or private models.")
    hub_timeout_s: float = Field(
        default=5.0, gt=0, description="Seconds the Hugging Face Hub gets to answer before a model counts as unreachable."
    )

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"


@lru_cache
def get_settings() -> Settings:
    return Settings()
