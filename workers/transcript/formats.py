"""Render a Transcript as versioned JSON, text (timed or plain), SRT, WebVTT, RTTM (speaker
turns) or DOCX: the format table that the CLI, the REST API and the ingest outbox offer.

JSON is the system of record (other formats are derived from it and it round-trips through
`transcript_from_json`); bump SCHEMA_VERSION on any incompatible change. DOCX is a binary
document that may carry the summary too: workers/documents renders it, from this table's entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from workers.transcript.reading import to_plain_text, to_text
from workers.transcript.subtitles import SubtitleOptions, subtitle_cues, to_srt, to_vtt
from workers.transcript.types import ModelInfo, RedactedEntity, Redaction, Segment, Speaker, SpeakerTurn, Transcript, Word

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class OutputFormat:
    name: str
    # The ending of the file written for it (CLI --out, ingest outbox): <stem><suffix>.
    suffix: str
    media_type: str
    # Bytes (a document), not text: rendered by workers/documents, never by `render`.
    binary: bool = False
    # Exists only for a diarized transcript (RTTM carries speaker turns and nothing else).
    needs_diarization: bool = False


FORMAT_TABLE: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("json", ".json", "application/json"),
        # `[mm:ss] Talare 1: ...` per paragraph; txt-plain the same without times.
        OutputFormat("txt", ".txt", "text/plain; charset=utf-8"),
        OutputFormat("txt-plain", ".plain.txt", "text/plain; charset=utf-8"),
        OutputFormat("srt", ".srt", "application/x-subrip; charset=utf-8"),
        OutputFormat("vtt", ".vtt", "text/vtt; charset=utf-8"),
        OutputFormat("rttm", ".rttm", "text/plain; charset=utf-8", needs_diarization=True),
        OutputFormat("docx", ".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", binary=True),
    )
}
FORMATS = tuple(FORMAT_TABLE)
SPEAKER_ONLY_FORMATS = tuple(f.name for f in FORMAT_TABLE.values() if f.needs_diarization)
TEXT_FORMATS = tuple(f.name for f in FORMAT_TABLE.values() if not f.binary)

__all__ = [
    "FORMATS",
    "FORMAT_TABLE",
    "SCHEMA_VERSION",
    "SPEAKER_ONLY_FORMATS",
    "TEXT_FORMATS",
    "OutputFormat",
    "SubtitleOptions",
    "formats_for",
    "render",
    "subtitle_cues",
    "to_dict",
    "to_json",
    "to_plain_text",
    "to_rttm",
    "to_srt",
    "to_text",
    "to_vtt",
    "transcript_from_json",
]


def formats_for(transcript: Transcript) -> tuple[str, ...]:
    """The formats this transcript can be rendered in (RTTM only when it was diarized)."""
    return tuple(f for f in FORMATS if f not in SPEAKER_ONLY_FORMATS or transcript.diarization_model is not None)


def render(transcript: Transcript, fmt: str, name: str = "audio", subtitles: SubtitleOptions = SubtitleOptions()) -> str:
    """A text format. `name` identifies the recording where a format needs it (RTTM's file id);
    `subtitles` says how SRT and WebVTT cues are cut."""
    if fmt == "json":
        return to_json(transcript)
    if fmt == "txt":
        return to_text(transcript)
    if fmt == "txt-plain":
        return to_plain_text(transcript)
    if fmt == "srt":
        return to_srt(transcript, subtitles)
    if fmt == "vtt":
        return to_vtt(transcript, subtitles)
    if fmt == "rttm":
        return to_rttm(transcript, name)
    if fmt in FORMAT_TABLE:
        raise ValueError(f"{fmt} is a binary document: workers.documents.export renders it")
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def to_dict(transcript: Transcript) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "language": transcript.language,
        "language_probability": transcript.language_probability,
        "duration_s": transcript.duration_s,
        "model": {
            "id": transcript.model.id,
            "revision": transcript.model.revision,
            "device": transcript.model.device,
            "compute_type": transcript.model.compute_type,
        },
        "timings_s": dict(transcript.timings_s),
        "text": transcript.text,
        # null and empty lists when the recording was not diarized.
        "diarization_model": transcript.diarization_model,
        "speakers": [{"id": sp.id, "talk_time_s": sp.talk_time_s} for sp in transcript.speakers],
        "speaker_turns": [{"start_s": t.start_s, "end_s": t.end_s, "speaker": t.speaker} for t in transcript.speaker_turns],
        # null unless personal data was replaced by placeholders: then what was replaced
        # (type, segment, time span), never the values.
        "redaction": _redaction_dict(transcript.redaction),
        "segments": [
            {
                "id": s.id,
                "start_s": s.start_s,
                "end_s": s.end_s,
                "speaker": s.speaker,
                "text": s.text,
                "avg_logprob": s.avg_logprob,
                "no_speech_prob": s.no_speech_prob,
                "words": [
                    {"start_s": w.start_s, "end_s": w.end_s, "text": w.text, "probability": w.probability, "speaker": w.speaker}
                    for w in s.words
                ],
            }
            for s in transcript.segments
        ],
    }


def _redaction_dict(redaction: Redaction | None) -> dict[str, Any] | None:
    if redaction is None:
        return None
    return {
        "method": redaction.method,
        "entities": [
            {"type": e.type, "segment_id": e.segment_id, "start_s": e.start_s, "end_s": e.end_s} for e in redaction.entities
        ],
    }


def _redaction_from(data: dict[str, Any] | None) -> Redaction | None:
    if data is None:
        return None
    return Redaction(method=data["method"], entities=tuple(RedactedEntity(**e) for e in data["entities"]))


def to_json(transcript: Transcript) -> str:
    return json.dumps(to_dict(transcript), ensure_ascii=False, indent=2) + "\n"


def transcript_from_json(text: str) -> Transcript:
    data = json.loads(text)
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"unsupported transcript schema_version {data.get('schema_version')!r}")
    return Transcript(
        language=data["language"],
        language_probability=data["language_probability"],
        duration_s=data["duration_s"],
        model=ModelInfo(**data["model"]),
        timings_s=dict(data["timings_s"]),
        segments=tuple(
            Segment(
                id=s["id"],
                start_s=s["start_s"],
                end_s=s["end_s"],
                speaker=s["speaker"],
                text=s["text"],
                avg_logprob=s["avg_logprob"],
                no_speech_prob=s["no_speech_prob"],
                words=tuple(Word(**w) for w in s["words"]),
            )
            for s in data["segments"]
        ),
        # Absent from transcripts stored before diarization existed.
        speakers=tuple(Speaker(**sp) for sp in data.get("speakers", ())),
        speaker_turns=tuple(SpeakerTurn(**t) for t in data.get("speaker_turns", ())),
        diarization_model=data.get("diarization_model"),
        # Absent from transcripts stored before redaction existed.
        redaction=_redaction_from(data.get("redaction")),
    )


def to_rttm(transcript: Transcript, name: str = "audio") -> str:
    """NIST RTTM, one SPEAKER line per exclusive turn; fields may not contain whitespace."""
    if transcript.diarization_model is None:
        raise ValueError("RTTM needs a diarized transcript (speaker turns); this one was not diarized")
    file_id = _rttm_token(name)
    return "".join(
        f"SPEAKER {file_id} 1 {t.start_s:.3f} {t.end_s - t.start_s:.3f} <NA> <NA> {_rttm_token(t.speaker)} <NA> <NA>\n"
        for t in transcript.speaker_turns
    )


def _rttm_token(text: str) -> str:
    return "_".join(text.split()) or "audio"
