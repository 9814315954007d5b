"""What a job with `redact` or `redact_audio` does after recognition: the redacted transcript,
and the recording with a tone over each redacted span. Celery-free, called by the runner
before anything is stored, so that with SWESCRIBE_REDACTION_KEEP_ORIGINAL=false the
unredacted transcript never reaches storage (nor the summary, the webhook or the outbox,
which all read the stored transcript)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from workers.extras import require_extras
from workers.intake.options import JobOptions
from workers.transcript.types import Transcript

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RedactedJob:
    transcript: Transcript
    # FLAC of the recording with tones (option redact_audio); None when not asked for.
    audio_flac: bytes | None


def redact_job(transcript: Transcript, options: JobOptions, audio_path: Path) -> RedactedJob:
    """The redacted transcript and, with redact_audio, the toned copy of the recording at
    `audio_path`. Logs counts per type, never values."""
    require_extras("redaction of personal data", "redaction")
    from workers.redaction.audio import entity_times, flac_bytes, tone_over_spans
    from workers.redaction.redact import find_entities, redact_transcript

    redacted = redact_transcript(transcript)
    entities = redacted.redaction.entities if redacted.redaction else ()
    counts: dict[str, int] = {}
    for entity in entities:
        counts[entity.type] = counts.get(entity.type, 0) + 1
    logger.info("redacted %d spans: %s", len(entities), ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none")
    audio = None
    if options.redact_audio:
        from workers.transcript.audio import decode_audio

        decoded = decode_audio(audio_path)
        toned = tone_over_spans(decoded.samples, decoded.sample_rate_hz, entity_times(find_entities(transcript)))
        audio = flac_bytes(toned, decoded.sample_rate_hz)
    return RedactedJob(redacted, audio)
