"""Build the real-voice diarization set: conversations assembled from recordings of real people.

The voices are human recordings (professional voice prompts of the Asterisk PBX, Debian
packages); the conversations are ASSEMBLED by this script: who speaks when, the pauses and
the turn lengths are chosen here, and nobody actually talked to anybody. What the set tests
is whether the speaker embeddings and the clustering tell real voices apart (timbre, pitch,
recording chain), which the espeak-ng conversations (one synthesiser, re-pitched) cannot.
Each prompt's leading and trailing silence is trimmed, so the RTTM marks speech only.

    apt-get download asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav \
        asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav
    for f in asterisk-core-sounds-*.deb; do dpkg-deb -x "$f" debs; done
    python audio_fixtures/real_voices/make_real_voices.py debs/usr/share/asterisk/sounds

Licences (from each package's /usr/share/doc/*/copyright): Allison Smith (en_US) and June
Wallack (fr_CA) CC-BY-SA-3.0; Carlo Flora (it_IT) and the IvrvoiceRU voice provided by Maxim
Topal (ru_RU) CC-BY-3.0. The assembled files are therefore CC-BY-SA-3.0, with these
attributions (manifest.jsonl carries them per file).
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from workers.evaluation.diarization import write_rttm

OUT_DIR = Path(__file__).resolve().parent
SAMPLE_RATE = 8000  # the prompts' own rate (telephony); decoding resamples to 16 kHz
LEAD_IN_S = 0.5
SEED = 20261203
# A frame counts as speech above this level relative to the prompt's loudest frame.
TRIM_BELOW_DB = -35.0
FRAME_S = 0.02


@dataclass(frozen=True)
class Voice:
    label: str
    folder: str
    person: str
    language: str
    licence: str
    package: str


VOICES = {
    "allison": Voice("allison", "en_US_f_Allison", "Allison Smith", "en", "CC-BY-SA-3.0", "asterisk-core-sounds-en-wav 1.6.1-1"),
    "june": Voice("june", "fr_CA_f_June", "June Wallack", "fr", "CC-BY-SA-3.0", "asterisk-core-sounds-fr-wav 1.6.1-1"),
    "carlo": Voice("carlo", "it_IT_m_Carlo", "Carlo Flora", "it", "CC-BY-3.0", "asterisk-core-sounds-it-wav 1.6.1-1"),
    "ivrvoice_ru": Voice(
        "ivrvoice_ru",
        "ru_RU_f_IvrvoiceRU",
        "IvrvoiceRU (provided by Maxim Topal)",
        "ru",
        "CC-BY-3.0",
        "asterisk-core-sounds-ru-wav 1.6.1-1",
    ),
}

# id -> (voices, turns, total speech seconds wanted). Two female voices (allison, june) share
# conversations, the hardest pair.
CONVERSATIONS = {
    "rv2_allison_carlo": (["allison", "carlo"], 10, 18.0),
    "rv2_allison_june": (["allison", "june"], 10, 18.0),
    "rv3_allison_june_carlo": (["allison", "june", "carlo"], 12, 24.0),
    "rv4_all": (["allison", "june", "carlo", "ivrvoice_ru"], 14, 28.0),
}


def trimmed(path: Path) -> np.ndarray:
    """The prompt at SAMPLE_RATE, mono, without its leading and trailing silence."""
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise SystemExit(f"{path}: {rate} Hz, expected {SAMPLE_RATE}")
    mono = audio.mean(axis=1)
    frame = round(FRAME_S * SAMPLE_RATE)
    frames = len(mono) // frame
    if frames == 0:
        return mono[:0]
    level = 20 * np.log10(np.sqrt((mono[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1)) + 1e-9)
    loud = np.flatnonzero(level > level.max() + TRIM_BELOW_DB)
    return mono[loud[0] * frame : (loud[-1] + 1) * frame]


def prompts(sounds: Path, voice: Voice) -> list[tuple[str, np.ndarray]]:
    """The voice's prompts of 0.8-4 s of speech, by name (the same names in every language)."""
    found = []
    for path in sorted((sounds / voice.folder).glob("*.wav")):
        speech = trimmed(path)
        if 0.8 <= len(speech) / SAMPLE_RATE <= 4.0:
            found.append((path.stem, speech))
    if not found:
        raise SystemExit(f"no prompts under {sounds / voice.folder}: see the module docstring")
    return found


def build(conversation_id: str, voices: list[str], n_turns: int, speech_s: float, sounds: Path, rng: random.Random) -> dict:
    pool = {label: prompts(sounds, VOICES[label]) for label in voices}
    # Every voice speaks; after that, any other voice than the one before may take the turn.
    order = voices[:]
    while len(order) < n_turns:
        order.append(rng.choice([v for v in voices if v != order[-1]]))
    per_turn_s = speech_s / n_turns
    pieces, turns = [], []
    cursor = round(LEAD_IN_S * SAMPLE_RATE)
    for speaker in order:
        # A turn is one or more prompts of one voice, 0.15 s apart, about per_turn_s long.
        start, parts, length = cursor, [], 0
        wanted = per_turn_s * SAMPLE_RATE * rng.uniform(0.6, 1.4)
        while length < wanted:
            name, speech = rng.choice(pool[speaker])
            if parts:
                parts.append(np.zeros(round(0.15 * SAMPLE_RATE), dtype=np.float32))
            parts.append(speech * rng.uniform(0.6, 1.0))
            length = sum(len(p) for p in parts)
        samples = np.concatenate(parts)
        pieces.append((start, samples))
        turns.append({"speaker": speaker, "start_s": start / SAMPLE_RATE, "end_s": (start + len(samples)) / SAMPLE_RATE})
        cursor = start + len(samples) + round(rng.uniform(0.3, 0.9) * SAMPLE_RATE)
    mix = np.zeros(cursor + round(LEAD_IN_S * SAMPLE_RATE), dtype=np.float32)
    for start, samples in pieces:
        mix[start : start + len(samples)] += samples
    sf.write(OUT_DIR / f"{conversation_id}.flac", mix, SAMPLE_RATE, subtype="PCM_16", format="FLAC")
    write_rttm(OUT_DIR / f"{conversation_id}.rttm", conversation_id, ((t["start_s"], t["end_s"], t["speaker"]) for t in turns))
    return {
        "id": conversation_id,
        "file": f"{conversation_id}.flac",
        "rttm": f"{conversation_id}.rttm",
        "num_speakers": len(voices),
        "speakers": [
            {
                "label": v,
                "person": VOICES[v].person,
                "language": VOICES[v].language,
                "source": VOICES[v].package,
                "license": VOICES[v].licence,
            }
            for v in voices
        ],
        "turns": len(turns),
        "duration_s": round(len(mix) / SAMPLE_RATE, 3),
        "sample_rate": SAMPLE_RATE,
        "synthetic": False,
        "assembled": True,
        "license": "CC-BY-SA-3.0 (assembled from the recordings named in speakers; attribution: their persons)",
        "notes": "Real human voices (studio voice prompts, 8 kHz telephony); the conversation itself is assembled by "
        "make_real_voices.py: turn order, lengths and pauses are chosen by the script, there is no overlap.",
    }


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    sounds = Path(sys.argv[1])
    rng = random.Random(SEED)
    entries = [build(cid, voices, turns, speech_s, sounds, rng) for cid, (voices, turns, speech_s) in CONVERSATIONS.items()]
    (OUT_DIR / "manifest.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    for e in entries:
        print(f"{e['file']}: {e['num_speakers']} voices, {e['turns']} turns, {e['duration_s']} s")


if __name__ == "__main__":
    main()
