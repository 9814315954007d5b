"""Wire format of the REST API (pydantic only here, at the edge)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from workers.store.db import DeliveryStatus, Job, JobStatus, Priority, SummaryStatus, as_utc


class ErrorPublic(BaseModel):
    code: str
    message: str


class FilePublic(BaseModel):
    name: str
    size_bytes: int
    sha256: str


class SummaryStatePublic(BaseModel):
    status: SummaryStatus
    error: ErrorPublic | None = Field(default=None, description="Why the summary failed; the transcript is unaffected.")


class StageCostPublic(BaseModel):
    cpu_s: float = Field(description="CPU seconds of the worker process in the stage, all its threads")
    gpu_s: float = Field(description="seconds the stage ran on the GPU (its wall time on a GPU worker; 0 on CPU)")
    wall_s: float = Field(description="wall-clock seconds of the stage")


class EnergyPartPublic(BaseModel):
    energy_wh: float
    source: str = Field(description="measured_rapl, measured_nvml or estimated")


class CostPublic(BaseModel):
    """What a completed job cost. A job decoded in a batch with others carries its share of the
    batch's cost, in proportion to its audio duration."""

    stages: dict[str, StageCostPublic] = Field(description="per stage (load_model, decode, transcribe, ...)")
    energy_wh: float = Field(description="energy of the job's stages in Wh")
    energy_source: str = Field(
        description="where energy_wh comes from, CPU then GPU, joined by +: measured_rapl (the processor packages' "
        "counter: the whole package, other processes included), measured_nvml (the GPU board's counter), estimated "
        "(seconds x the operator's per-device watts, SWESCRIBE_ENERGY_*)"
    )
    energy_by_device: dict[str, EnergyPartPublic] = Field(default_factory=dict, description="energy per device: cpu, gpu")


class JobPublic(BaseModel):
    id: str
    status: JobStatus
    stage: str | None
    progress: float = Field(ge=0, le=1, description="0 to 1; only rises while a job runs")
    options: dict
    file: FilePublic
    duration_s: float | None
    timings_s: dict[str, float]
    real_time_factor: float | None = Field(description="processing seconds per second of audio")
    attempts: int
    priority: str = Field(default="normal", description="normal or bulk: normal jobs run first; tenants take turns")
    batch: str | None = Field(
        default=None, description="id of the batch the recording was decoded in, shared with the short jobs decoded with it"
    )
    error: ErrorPublic | None
    cost: CostPublic | None = Field(
        default=None, description="CPU, GPU and wall seconds per stage and the energy the job took; null until completed"
    )
    summary: SummaryStatePublic
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    reference: str | None = Field(default=None, description="the case reference given at upload")
    legal_hold: bool = Field(default=False, description="true: under legal hold, never purged or deleted until released")
    audio_purged_at: datetime | None = Field(default=None, description="when the audio was deleted under retention")
    results_purged_at: datetime | None = Field(
        default=None, description="when the transcript and summary were deleted under retention (fetching them is 410)"
    )

    @classmethod
    def from_job(cls, job: Job) -> JobPublic:
        processing_s = sum(v for k, v in (job.timings_s or {}).items() if k != "load_model")
        rtf = round(processing_s / job.duration_s, 4) if job.duration_s and processing_s else None
        return cls(
            id=job.id,
            status=job.status,
            stage=job.stage,
            progress=job.progress,
            options=job.options,
            file=FilePublic(name=job.filename, size_bytes=job.audio_size_bytes, sha256=job.audio_sha256),
            duration_s=job.duration_s,
            timings_s=job.timings_s or {},
            real_time_factor=rtf,
            attempts=job.attempts,
            priority=Priority(job.priority or 0).name,
            batch=job.batch_id,
            error=ErrorPublic(code=job.error_code, message=job.error_message or "") if job.error_code else None,
            cost=CostPublic.model_validate(job.cost) if job.cost else None,
            summary=SummaryStatePublic(
                status=job.summary_status or SummaryStatus.none,
                error=ErrorPublic(code=job.summary_error_code, message=job.summary_error or "")
                if job.summary_status == SummaryStatus.failed and job.summary_error_code
                else None,
            ),
            created_at=as_utc(job.created_at),
            started_at=as_utc(job.started_at),
            finished_at=as_utc(job.finished_at),
            reference=job.reference,
            legal_hold=job.legal_hold_at is not None,
            audio_purged_at=as_utc(job.audio_purged_at),
            results_purged_at=as_utc(job.results_purged_at),
        )


class JobList(BaseModel):
    jobs: list[JobPublic]
    total: int = Field(description="jobs in the whole listing (with its filters)")
    limit: int
    offset: int
    next_cursor: str | None = Field(
        default=None, description="pass as `cursor` for the next page (same filters); null on the last page"
    )


class WebhookEndpointUpdate(BaseModel):
    url: str | None = Field(
        default=None, max_length=2000, description="Default URL for this key's job events; null: per-job URLs only."
    )


class WebhookEndpointPublic(BaseModel):
    url: str | None
    secret: str | None = Field(description="whsec_... signing secret; shown only when it is created or rotated")
    disabled_at: datetime | None
    disabled_reason: str | None
    previous_secret_active: bool = Field(
        default=False, description="true during a rotation: deliveries are also signed with the previous secret"
    )


class AttemptPublic(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryPublic(BaseModel):
    id: str
    webhook_id: str
    event: str
    url: str
    status: DeliveryStatus
    attempts: list[AttemptPublic]
    next_attempt_at: datetime | None
    created_at: datetime
    redelivered_at: datetime | None = Field(description="when POST .../webhook/redeliver last queued it again")


class DeliveryList(BaseModel):
    deliveries: list[DeliveryPublic]
