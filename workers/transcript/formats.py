"""Render a Transcript as versioned JSON, plain text, SRT, WebVTT or RTTM (speaker turns).

JSON is the system of record (other formats are derived from it and it round-trips through
`transcript_from_json`); bump SCHEMA_VERSION on any incompatible change.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from workers.transcript.types import ModelInfo, Segment, Speaker, SpeakerTurn, Transcript, Word, join_words

SCHEMA_VERSION = 1
FORMATS = ("json", "txt", "srt", "vtt", "rttm")
# RTTM carries speaker turns only: it exists for diarized transcripts.
SPEAKER_ONLY_FORMATS = ("rttm",)

# Subtitle cues are cut so they stay readable: at most two lines of ~42 characters
# (EBU/Netflix practice) and 7 s on screen.
MAX_CUE_CHARS = 84
MAX_CUE_DURATION_S = 7.0


def formats_for(transcript: Transcript) -> tuple[str, ...]:
    """The formats this transcript can be rendered in (RTTM only when it was diarized)."""
    return tuple(f for f in FORMATS if f not in SPEAKER_ONLY_FORMATS or transcript.diarization_model is not None)


def render(transcript: Transcript, fmt: str, name: str = "audio") -> str:
    """`name` identifies the recording where a format needs it (RTTM's file id)."""
    if fmt == "json":
        return to_json(transcript)
    if fmt == "txt":
        return to_text(transcript)
    if fmt == "srt":
        return to_srt(transcript)
    if fmt == "vtt":
        return to_vtt(transcript)
    if fmt == "rttm":
        return to_rttm(transcript, name)
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
    )


def to_text(transcript: Transcript) -> str:
    """One line per segment; diarized, one line per speaker change: "Talare 1: ..."."""
    segments = [s for s in transcript.segments if s.text]
    if transcript.diarization_model is None:
        lines = [s.text for s in segments]
    else:
        lines = []
        previous = object()
        for segment in segments:
            if segment.speaker == previous:
                lines[-1] += " " + segment.text
            else:
                lines.append(f"{segment.speaker}: {segment.text}")
            previous = segment.speaker
    return "\n".join(lines) + ("\n" if lines else "")


def subtitle_cues(transcript: Transcript) -> list[Segment]:
    """Segments split at word boundaries into cues short enough to read."""
    cues: list[Segment] = []
    for segment in transcript.segments:
        current: list[Word] = []
        for word in segment.words:
            candidate = [*current, word]
            too_long = len(join_words(tuple(candidate))) > MAX_CUE_CHARS
            too_slow = word.end_s - candidate[0].start_s > MAX_CUE_DURATION_S
            if current and (too_long or too_slow):
                cues.append(_cue(segment, current))
                current = [word]
            else:
                current = candidate
        if current:
            cues.append(_cue(segment, current))
    return cues


def _cue(segment: Segment, words: list[Word]) -> Segment:
    return replace(segment, words=tuple(words), text=join_words(tuple(words)), start_s=words[0].start_s, end_s=words[-1].end_s)


def _timestamp(seconds: float, decimal_marker: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_marker}{millis:03d}"


def to_srt(transcript: Transcript) -> str:
    blocks = [
        f"{i}\n{_timestamp(c.start_s, ',')} --> {_timestamp(c.end_s, ',')}\n{_speaker_prefix(c)}{c.text}\n"
        for i, c in enumerate(subtitle_cues(transcript), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"]
    blocks += [
        f"{_timestamp(c.start_s, '.')} --> {_timestamp(c.end_s, '.')}\n{_vtt_voice(c)}{_vtt_escape(c.text)}\n"
        for c in subtitle_cues(transcript)
    ]
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    # "-->" and markup characters would end or corrupt a WebVTT cue.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _speaker_prefix(cue: Segment) -> str:
    return f"{cue.speaker}: " if cue.speaker else ""


def _vtt_voice(cue: Segment) -> str:
    # WebVTT voice span: players show or style the speaker; the closing tag is optional.
    return f"<v {_vtt_escape(cue.speaker)}>" if cue.speaker else ""


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
