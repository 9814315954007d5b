"""Generate the SYNTHETIC summary evaluation set: hand-written Swedish conversations as transcript JSON.

No audio and no real people: conversations.txt holds hand-written dialogue (every name, number
and address made up) with its reference facts. This script gives each turn plausible timings
(about 150 words a minute, 0.3-1.0 s pauses, seeded by the conversation's id), pads the
conversations that should last longer with neutral filler turns that carry no facts, and writes

    transcripts/<id>.json   the transcript document (workers/transcript/formats.py), without word timings
    manifest.jsonl          one line per conversation: case type, length, speakers, recognition
                            condition and the reference facts `swescribe eval-summary` scores against

Run from the repository root with the project's virtualenv::

    .venv/bin/python audio_fixtures/summaries/make_summary_set.py

Deterministic: the same source gives byte-identical files.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from workers.transcript.formats import to_dict
from workers.transcript.types import ModelInfo, Segment, Speaker, SpeakerTurn, Transcript

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "conversations.txt"
CASE_TYPES = (
    "social_services",
    "police_interview",
    "healthcare_visit",
    "insurance_claim",
    "municipal_meeting",
    "customer_call",
)
WORDS_PER_S = 2.5
PROVENANCE = "hand-written synthetic conversation (no audio, no real people or cases)"
MODEL = ModelInfo(id="hand-written-synthetic", revision=None, device="none", compute_type="none")

# Filler turns for the longer conversations: talk that moves nothing forward (no decision,
# action, number or name), so the reference facts stay those of the scripted turns.
_FILLER_OPENINGS = (
    "Ja, precis.",
    "Mm, jag förstår.",
    "Okej.",
    "Ja, det stämmer nog.",
    "Vänta lite.",
    "Jo, alltså.",
    "Jag hänger med.",
    "Javisst.",
)
_FILLER_BODIES = (
    "Jag vill bara vara säker på att jag har uppfattat allt rätt innan vi går vidare.",
    "Det hackade lite i ljudet nyss, men nu hör jag dig bra igen.",
    "Jag skriver ner det här medan vi pratar, så att inget faller bort.",
    "Vi tar det i lugn och ro, det finns gott om tid för det här.",
    "Jag tittar i underlagen samtidigt, det tar bara en liten stund.",
    "Det är bra att vi går igenom det ordentligt en gång till.",
    "Jag har läst det som skickades in tidigare, så jag känner till bakgrunden.",
    "Säg till om något är oklart, så förklarar jag det på ett annat sätt.",
    "Det är en rimlig fråga, och den är vanlig i de här sammanhangen.",
    "Jag förstår att det här kan kännas mycket på en gång.",
    "Vi kan gärna ta det steg för steg, så blir det tydligare.",
    "Jag upprepar det jag hörde, så kan du rätta mig om jag har missförstått.",
    "Det var ungefär så jag också hade uppfattat det.",
    "Vi återkommer till den delen lite senare i samtalet.",
    "Jag har inga fler frågor om just det här just nu.",
    "Det låter som att det har varit en besvärlig period.",
)


@dataclass
class Conversation:
    id: str
    headers: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    decisions: list[str] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    traps: list[dict] = field(default_factory=list)
    turns: list[tuple[str, str]] = field(default_factory=list)


def speaker_label(number: str) -> str:
    return f"Talare {number}"


def _owner_alternatives(owner: str) -> str:
    """ "2/sökande" -> "talare 2/sökande": a digit alone names the speaker label."""
    return "/".join(speaker_label(part).lower() if part.isdigit() else part for part in owner.split("/"))


def parse(text: str) -> list[Conversation]:
    conversations: list[Conversation] = []
    turn = re.compile(r"^(\d+): (.+)$")
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("# ") or line == "#":
            continue
        if line.startswith("## "):
            conversations.append(Conversation(id=line[3:].strip()))
            continue
        conv = conversations[-1]
        match = turn.match(line)
        if match:
            conv.turns.append((speaker_label(match.group(1)), match.group(2).strip()))
            continue
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "role":
            number, _, role = (part.strip() for part in value.partition("="))
            conv.roles[speaker_label(number)] = role
        elif key == "decision":
            if value != "none":
                conv.decisions.append(value)
        elif key == "action":
            what, owner, deadline = (part.strip() for part in value.split("::"))
            conv.actions.append(
                {
                    "text": what,
                    "owner": None if owner == "none" else _owner_alternatives(owner),
                    "deadline": None if deadline == "none" else deadline,
                }
            )
        elif key == "trap":
            kind, keys, note = (part.strip() for part in value.split("::"))
            conv.traps.append({"kind": kind, "keys": keys, "note": note})
        else:
            conv.headers[key] = value
    for conv in conversations:
        _check(conv)
    return conversations


def _check(conv: Conversation) -> None:
    kind = conv.headers.get("type")
    if kind not in CASE_TYPES:
        raise ValueError(f"{conv.id}: unknown type {kind!r}")
    if conv.headers.get("recognition") not in ("clean", "asr_errors"):
        raise ValueError(f"{conv.id}: recognition must be clean or asr_errors")
    kinds = {trap["kind"] for trap in conv.traps}
    if kinds != {"hypothetical", "retracted", "number"}:
        raise ValueError(f"{conv.id}: needs one trap of each kind, has {sorted(kinds)}")
    speakers = {speaker for speaker, _ in conv.turns}
    if not 1 <= len(speakers) <= 5 or set(conv.roles) != speakers:
        raise ValueError(f"{conv.id}: 1-5 speakers, each with a role ({sorted(speakers)} vs {sorted(conv.roles)})")
    if "matter" not in conv.headers or not conv.actions:
        raise ValueError(f"{conv.id}: a matter and at least one action item are required")


def _seconds(text: str, rng: random.Random) -> float:
    return round(len(text.split()) / (WORDS_PER_S * rng.uniform(0.9, 1.1)) + 0.3, 2)


def _padded_turns(conv: Conversation, rng: random.Random) -> tuple[list[tuple[str, str, bool]], int]:
    """The scripted turns, with filler turns spread between them until the conversation lasts
    pad_minutes (estimated); (speaker, text, is_filler) each, and the number of fillers."""
    turns = [(speaker, text, False) for speaker, text in conv.turns]
    target_s = float(conv.headers.get("pad_minutes", "0")) * 60
    speakers = sorted({speaker for speaker, _ in conv.turns})
    estimate = sum(len(text.split()) / WORDS_PER_S + 0.95 for _, text, _ in turns)
    fillers: list[tuple[str, str, bool]] = []
    while estimate < target_s:
        text = f"{rng.choice(_FILLER_OPENINGS)} {rng.choice(_FILLER_BODIES)}"
        fillers.append((rng.choice(speakers), text, True))
        estimate += len(text.split()) / WORDS_PER_S + 0.95
    if not fillers:
        return turns, 0
    # Evenly between the scripted turns, never before the first or after the last.
    slots: dict[int, list[tuple[str, str, bool]]] = defaultdict(list)
    for i, filler in enumerate(fillers):
        slots[1 + i * (len(turns) - 1) // len(fillers)].append(filler)
    out: list[tuple[str, str, bool]] = []
    for i, turn in enumerate(turns):
        out.extend(slots.get(i, []))
        out.append(turn)
    return out, len(fillers)


def build(conv: Conversation) -> tuple[Transcript, int]:
    rng = random.Random(conv.id)
    turns, fillers = _padded_turns(conv, rng)
    segments: list[Segment] = []
    clock = round(rng.uniform(0.4, 1.2), 2)
    poor = conv.headers["recognition"] == "asr_errors"
    for i, (speaker, text, _) in enumerate(turns):
        end = round(clock + _seconds(text, rng), 2)
        segments.append(
            Segment(
                id=i,
                start_s=clock,
                end_s=end,
                text=text,
                words=(),
                avg_logprob=-0.65 if poor else -0.22,
                no_speech_prob=0.02,
                speaker=speaker,
            )
        )
        clock = round(end + rng.uniform(0.3, 1.0), 2)
    talk: dict[str, float] = defaultdict(float)
    for s in segments:
        talk[s.speaker or ""] += s.end_s - s.start_s
    transcript = Transcript(
        language="sv",
        language_probability=1.0,
        duration_s=round(clock + 0.5, 2),
        segments=tuple(segments),
        model=MODEL,
        timings_s={},
        speakers=tuple(Speaker(id=k, talk_time_s=round(v, 2)) for k, v in sorted(talk.items())),
        speaker_turns=tuple(SpeakerTurn(start_s=s.start_s, end_s=s.end_s, speaker=s.speaker or "") for s in segments),
        diarization_model="hand-written-synthetic",
    )
    return transcript, fillers


def manifest_entry(conv: Conversation, transcript: Transcript, fillers: int) -> dict:
    return {
        "id": conv.id,
        "file": f"transcripts/{conv.id}.json",
        "case_type": conv.headers["type"],
        "recognition": conv.headers["recognition"],
        "num_speakers": len(conv.roles),
        "duration_s": transcript.duration_s,
        "filler_turns": fillers,
        "synthetic": True,
        "provenance": PROVENANCE,
        "reference": {
            "matter": conv.headers["matter"],
            "roles": conv.roles,
            "decisions": conv.decisions,
            "action_items": conv.actions,
            "traps": conv.traps,
        },
    }


def main() -> None:
    conversations = parse(SOURCE.read_text(encoding="utf-8"))
    out_dir = HERE / "transcripts"
    out_dir.mkdir(exist_ok=True)
    lines = []
    for conv in conversations:
        transcript, fillers = build(conv)
        data = to_dict(transcript)  # no word timings (words: []): keeps the files small
        (out_dir / f"{conv.id}.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        lines.append(json.dumps(manifest_entry(conv, transcript, fillers), ensure_ascii=False))
        print(f"{conv.id}: {transcript.duration_s / 60:.1f} min, {len(conv.roles)} speakers, {fillers} filler turns")
    (HERE / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
