"""The pipeline's error hierarchy.

Edges (CLI, HTTP, tasks) translate these once: permanent errors fail a job at once with a
reason, transient errors are retried.
"""


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""

    code = "pipeline_error"


class PermanentError(PipelineError):
    """Retrying will not help: the input itself is the problem."""


class TransientError(PipelineError):
    """Retrying later may help: a model, a network or a service is unavailable."""


class AudioDecodeError(PermanentError):
    """The file is not decodable audio (empty, truncated, not audio, no samples)."""

    code = "audio_decode_error"

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: cannot decode audio: {reason}")


class AudioTooLong(AudioDecodeError):
    """The recording lasts longer than the operator allows: refused before it is decoded in
    full, so a tiny file that declares days of audio cannot exhaust memory."""

    code = "audio_too_long"

    def __init__(self, source: str, limit_s: float, duration_s: float | None = None):
        self.limit_s = limit_s
        self.duration_s = duration_s
        lasts = f"lasts {format_duration(duration_s)}" if duration_s is not None else "lasts longer than that"
        super().__init__(source, f"the recording {lasts}; the limit is {format_duration(limit_s)}")


def format_duration(seconds: float) -> str:
    """1 h 05 min, 12 min 30 s, 8.5 s: for messages."""
    if seconds >= 3600:
        hours, rest = divmod(round(seconds), 3600)
        return f"{hours} h {rest // 60:02d} min"
    if seconds >= 60:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest:02d} s"
    return f"{seconds:.1f} s"


class ModelNotFoundError(PermanentError):
    """The configured model does not exist where it was asked for (bad name or folder)."""

    code = "model_not_found"


class ModelUnavailableError(TransientError):
    """The model exists but cannot be fetched now (Hub unreachable, offline mode)."""

    code = "model_unavailable"


class DiarizationError(PermanentError):
    """The diarization pipeline failed on this recording (the message says how)."""

    code = "diarization_failed"
