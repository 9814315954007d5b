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


class ModelNotFoundError(PermanentError):
    """The configured model does not exist where it was asked for (bad name or folder)."""

    code = "model_not_found"


class ModelUnavailableError(TransientError):
    """The model exists but cannot be fetched now (Hub unreachable, offline mode)."""

    code = "model_unavailable"


class DiarizationError(PermanentError):
    """The diarization pipeline failed on this recording (the message says how)."""

    code = "diarization_failed"
