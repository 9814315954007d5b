"""Operator settings, read from SWESCRIBE_* environment variables (and a .env file).

Every field is documented: `.env.example` lists them all and a test keeps the two in step.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "swescribe"


class Settings(BaseSettings):
    # hide_input_in_errors: a validation error would otherwise print every value it was given,
    # the database URL's password and the tokens among them.
    model_config = SettingsConfigDict(env_prefix="SWESCRIBE_", env_file=".env", extra="ignore", hide_input_in_errors=True)

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Audio, results, the SQLite database and the assembled offline model live here; default ~/.local/share/swescribe.",
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
    asr_long_batch_size: int | None = Field(
        default=None,
        ge=1,
        description="Recordings of a minute or more are decoded this many speech chunks at a time (batched inference; "
        "1: sequential); unset: 4 on CPU, 8 on a GPU (measured: docs/benchmarks.md).",
    )
    batch_max_clip_s: float = Field(
        default=28.0,
        ge=0,
        le=28.0,
        description="Queued recordings at most this long are decoded together, packed into shared 30 s windows; "
        "0 decodes every job alone.",
    )
    batch_windows: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Packed 30 s windows per batch of short jobs: more gives more throughput, and makes a job that "
        "arrives meanwhile in the same lane wait longer for the batch in front of it (docs/benchmarks.md).",
    )
    gpu_lane: Literal["all", "normal", "bulk"] = Field(
        default="all",
        description="Which jobs a gpu worker runs: all, or only normal ones (uploads) or only bulk ones (folder "
        "ingestion); `swescribe worker --queues gpu-normal` / `gpu-bulk` set it.",
    )
    batch_wait_ms: int = Field(
        default=250,
        ge=0,
        le=5000,
        description="How long a short job with no others waiting gives them to arrive before it is decoded alone.",
    )
    diarization_model: str = Field(
        default="pyannote-offline",
        description="Speaker diarization pipeline: pyannote-offline (installed with the package), community-1 "
        "(pyannote/speaker-diarization-community-1, production), a pyannote pipeline repo id, or a local folder.",
    )
    diarization_device: Literal["auto", "cuda", "cpu"] = Field(
        default="auto", description="auto (CUDA when torch sees a GPU, else CPU), cuda or cpu."
    )
    diarization_cpu_threads: int = Field(default=0, ge=0, description="torch CPU threads for diarization; 0 lets torch decide.")
    hf_token: SecretStr | None = Field(default=None, description="Hugging Face token for gated or private models.")
    hub_timeout_s: float = Field(
        default=5.0, gt=0, description="Seconds the Hugging Face Hub gets to answer before a model counts as unreachable."
    )

    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the job database; default: SQLite file DATA_DIR/swescribe.db. "
            "PostgreSQL for several hosts: postgresql+psycopg://user:password@host:5432/swescribe"
        ),
    )
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis URL of the Celery broker.")
    auth_disabled: bool = Field(
        default=False,
        description="1 switches API keys off: every caller sees every job. Only for a single user on 127.0.0.1: "
        "`swescribe api` and `up` refuse to start with it on any other address (see AUTH_DISABLED_ALLOW_REMOTE).",
    )
    auth_disabled_allow_remote: bool = Field(
        default=False,
        description="1 lets the API run without keys (AUTH_DISABLED=1) on an address other machines can reach, "
        "serving every job to anyone who reaches it; only behind something else that decides who gets in.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus sends for GET /metrics (Authorization: Bearer <token>), at least 16 "
        "characters. Unset: /metrics is off (403), unless AUTH_DISABLED=1 opens the whole API anyway.",
    )
    public_docs: Literal["auto"] | bool = Field(
        default="auto",
        description="Serve the API documentation (/docs, /redoc, /openapi.json) without a key: true, false, or auto "
        "(only when `swescribe api`/`up` listen on a loopback address such as 127.0.0.1).",
    )
    max_upload_mb: int = Field(default=2048, gt=0, description="Largest accepted upload, in MiB (413 past it).")
    max_audio_hours: float = Field(
        default=12.0,
        gt=0,
        description="Longest accepted recording, in hours: refused at upload (413) and by folder ingestion, "
        "checked again while the worker decodes (a small file can declare days of audio).",
    )
    asr_models_allowed: str = Field(
        default="",
        description="Comma-separated extra model names or folders a job may ask for, besides ASR_MODEL.",
    )
    job_time_limit_s: int = Field(
        default=4 * 3600, gt=0, description="Hard limit on one transcription task; the soft limit is 95 % of it."
    )
    visibility_timeout_s: int = Field(
        default=5 * 3600,
        gt=0,
        description=(
            "Seconds before Redis hands an unacknowledged task to another worker; "
            "must exceed JOB_TIME_LIMIT_S so a long job is never run twice at once."
        ),
    )
    task_max_retries: int = Field(
        default=5, ge=0, description="Retries of a job after a transient error (model Hub or storage unavailable)."
    )
    task_retry_base_s: float = Field(
        default=30.0, gt=0, description="First retry delay; each further retry waits twice as long (at most 15 min)."
    )
    job_heartbeat_s: float = Field(
        default=15.0, gt=0, description="How often a worker records in a running job that it is still at work."
    )
    job_stale_after_s: float = Field(
        default=120.0,
        gt=0,
        description="A running job with no heartbeat for this long is queued again (its worker is presumed gone; one "
        "known dead on the same host is taken back at once), and a queued job whose task the broker lost is sent "
        "again after this long.",
    )
    reconcile_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="How often a cpu worker looks for running jobs whose worker is gone and queued jobs without a task.",
    )
    sync_timeout_s: float = Field(default=600.0, gt=0, description="How long POST /v1/audio/transcriptions waits for its result.")
    retention_audio_hours: int = Field(
        default=168,
        ge=0,
        description="Default hours a job's audio is kept after the job finished and its webhooks settled "
        "(a tenant's admin may set its own).",
    )
    retention_results_days: int = Field(
        default=30,
        ge=0,
        description="Default days transcripts and summaries are kept after the job finished; 0 keeps them "
        "(a tenant's admin may set its own).",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text, or as JSON objects (time, level, logger, message) for a log shipper."
    )
    purge_interval_s: float = Field(
        default=900.0, gt=0, description="How often a cpu worker deletes what retention no longer keeps."
    )

    storage: Literal["local", "s3"] = Field(
        default="local",
        description=("Where audio and results are kept: local (a folder, possibly a shared mount) or s3 (S3-compatible bucket)."),
    )
    storage_dir: Path | None = Field(
        default=None, description="Folder for audio and results when STORAGE=local; default: DATA_DIR/storage."
    )
    s3_bucket: str | None = Field(default=None, description="S3 bucket for audio and results; required when STORAGE=s3.")
    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint for MinIO or Ceph, e.g. http://minio:9000 (path-style addressing); empty means AWS.",
    )
    s3_region: str = Field(default="us-east-1", description="S3 region (MinIO and Ceph accept the default).")
    s3_access_key_id: str | None = Field(
        default=None,
        description="S3 access key id; empty uses the usual AWS credential chain (AWS_* variables, instance role).",
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key, paired with S3_ACCESS_KEY_ID."
    )
    s3_prefix: str = Field(default="", description="Key prefix inside the bucket, to share one bucket between installations.")
    s3_create_bucket: bool = Field(
        default=False, description="Create the bucket when it is missing (local MinIO, development); off for production."
    )

    webhook_allow_private: bool = Field(
        default=False,
        description="1 allows webhook URLs on loopback, private and link-local addresses (a case system on the same LAN).",
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, description="Seconds a webhook receiver has to answer, in all (connect, send, response)."
    )
    webhook_retry_window_h: float = Field(
        default=24.0, gt=0, description="Failed webhook deliveries are retried with backoff for this many hours."
    )
    webhook_inline_transcript_max_kb: int = Field(
        default=256, ge=0, description="job.completed carries the transcript inline up to this size, else a link."
    )
    webhook_sweep_interval_s: float = Field(
        default=5.0, gt=0, description="How often a cpu worker sends webhook deliveries that are due (retries)."
    )
    public_base_url: str | None = Field(
        default=None, description="The API's public address, for absolute links in webhooks (e.g. https://stt.example.se)."
    )

    llm_base_url: str | None = Field(
        default=None,
        description=(
            "OpenAI-compatible chat endpoint for summaries, up to /v1 (vLLM or Ollama serving Mistral Small, "
            "https://api.mistral.ai/v1, Berget AI). Empty: `swescribe up` and `transcribe --summarize` start "
            "the embedded llama.cpp server with the installed small model."
        ),
    )
    llm_model: str | None = Field(
        default=None,
        description="Model name sent to the endpoint, e.g. mistral-small-latest; empty: the embedded model's name.",
    )
    llm_api_key: SecretStr | None = Field(default=None, description="Bearer key of the LLM endpoint; empty sends none.")
    llm_timeout_s: float = Field(
        default=600.0, gt=0, description="Seconds one chat request may take (a CPU-served model answers slowly)."
    )
    llm_max_retries: int = Field(
        default=2,
        ge=0,
        description="Retries of one chat request after a network error, 429/5xx or an answer that is not the summary JSON.",
    )
    llm_retry_base_s: float = Field(
        default=5.0, ge=0, description="First LLM retry delay; each further retry waits twice as long."
    )
    llm_context_tokens: int = Field(
        default=8192,
        ge=2048,
        description=(
            "Context window of the model, in tokens: longer transcripts are summarised in chunks that fit "
            "(map-reduce). Mistral Small allows 32768; also the embedded server's context size."
        ),
    )
    llm_max_output_tokens: int = Field(
        default=1024, ge=128, description="Most tokens the model may write per request (one chunk's summary)."
    )
    llm_json_mode: Literal["json_object", "json_schema", "json_object_schema", "off"] = Field(
        default="json_object",
        description=(
            "How the answer is held to JSON: json_object (response_format type json_object; vLLM, Ollama, "
            "Mistral API), json_schema (OpenAI-style with the summary schema), json_object_schema (llama-cpp-python's "
            "server: the schema as a grammar), off. Answers are validated either way."
        ),
    )
    llm_embedded_threads: int = Field(default=0, ge=0, description="CPU threads of the embedded llama.cpp server; 0: all cores.")
    llm_one_at_a_time: bool = Field(
        default=False,
        description="Summaries on this host wait for each other (a file lock in SWESCRIBE_DATA_DIR): for a server that "
        "answers one request at a time, so a queued summary's timeout does not run while another is generated. "
        "swescribe up sets it for the embedded model.",
    )

    ingest_dir: Path | None = Field(
        default=None,
        description="Folder `swescribe up` watches: recordings in DIR/inbox are transcribed into DIR/outbox (unset: no watcher).",
    )
    ingest_settle_s: float = Field(
        default=3.0, ge=0, description="A file in an ingest inbox is taken once its size and mtime stay unchanged this long."
    )
    ingest_poll_interval_s: float = Field(
        default=1.0, gt=0, description="How often the ingest watcher scans its inbox and checks its jobs."
    )
    subtitle_max_line_chars: int = Field(
        default=42, ge=10, description="Subtitles (srt, vtt): most characters per line, the speaker label included."
    )
    subtitle_max_lines: int = Field(default=2, ge=1, le=4, description="Subtitles (srt, vtt): most lines per cue.")
    redaction_keep_original: bool = Field(
        default=False,
        description="Jobs with redact=true: also store the unredacted transcript (jobs/<id>/transcript.original.json, "
        "never served by the API); false: the original never reaches storage.",
    )
    energy_cpu_watts_per_core: float = Field(
        default=4.0,
        gt=0,
        description="Watts one busy CPU core (logical CPU) draws, for each job's energy estimate on hosts whose "
        "processor energy counter (RAPL) cannot be read: CPU seconds x this. Default 4 W: the full-load watts per "
        "vCPU of cloud servers (3.5-4.3 W) and TDP per hardware thread of current server processors (2-4 W); "
        "docs/benchmarks.md.",
    )
    energy_gpu_board_watts: float = Field(
        default=150.0,
        gt=0,
        description="Watts the GPU board draws while a job's stage runs on it, for the energy estimate on GPUs "
        "without a readable energy counter (NVML): GPU seconds x this. Default 150 W, an NVIDIA A10's board "
        "power; set your card's (T4 and L4 about 70 W).",
    )

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'swescribe.db'}"

    @property
    def allowed_models(self) -> tuple[str, ...]:
        extra = [m.strip() for m in self.asr_models_allowed.split(",") if m.strip()]
        return tuple(dict.fromkeys([self.asr_model, *extra]))

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"

    @property
    def storage_root(self) -> Path:
        return self.storage_dir or self.data_dir / "storage"

    @model_validator(mode="after")
    def _settings_agree(self) -> Settings:
        """Pairs of settings that only work together, refused at start with both names rather
        than failing later inside a job."""
        if self.visibility_timeout_s <= self.job_time_limit_s:
            raise ValueError(
                f"SWESCRIBE_VISIBILITY_TIMEOUT_S ({self.visibility_timeout_s} s) must be longer than "
                f"SWESCRIBE_JOB_TIME_LIMIT_S ({self.job_time_limit_s} s): Redis would hand a job that is still "
                "running to a second worker"
            )
        if self.job_stale_after_s <= 2 * self.job_heartbeat_s:
            raise ValueError(
                f"SWESCRIBE_JOB_STALE_AFTER_S ({self.job_stale_after_s} s) must be more than twice "
                f"SWESCRIBE_JOB_HEARTBEAT_S ({self.job_heartbeat_s} s): a live worker's job would be taken from it"
            )
        if self.metrics_token is not None and 0 < len(self.metrics_token.get_secret_value()) < 16:
            # A short token on an endpoint anyone can reach is a guessable one.
            raise ValueError("SWESCRIBE_METRICS_TOKEN must be at least 16 characters (e.g. openssl rand -hex 24)")
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("SWESCRIBE_STORAGE=s3 needs SWESCRIBE_S3_BUCKET")
        if self.storage == "s3" and (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError(
                "set both SWESCRIBE_S3_ACCESS_KEY_ID and SWESCRIBE_S3_SECRET_ACCESS_KEY, or neither "
                "(then the usual AWS credential chain applies)"
            )
        # The summary's own rule (imported here, not at the top: the API imports the settings
        # and needs nothing else of the summary code); its message names both settings.
        from workers.summary.chunking import input_budget_tokens
        from workers.summary.prompt import instructions_tokens

        input_budget_tokens(self.llm_context_tokens, self.llm_max_output_tokens, instructions_tokens())
        return self


def url_for_display(url: str) -> str:
    """`url` with any password in it (user:PASSWORD@host, ?password=) shown as ***: for
    banners and logs. Database and Redis URLs alike."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # Not a URL that can be taken apart: show its scheme at most.
        scheme, sep, _rest = url.partition("://")
        return f"{scheme}://***" if sep else "***"
    secret_params = {name: "***" for name in parsed.query if "pass" in name.lower()}
    if secret_params:
        parsed = parsed.update_query_dict(secret_params)
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


@lru_cache
def get_settings() -> Settings:
    return Settings()
