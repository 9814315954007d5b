"""Build the real-voice diarization set: conversations assembled from recordings of real people.

The voices are human recordings (professional voice prompts of the Asterisk PBX, Debian
packages); the conversations are ASSEMBLED by this script: who speaks when, the pauses and
the turn lengths are chosen here, and nobody actually talked to anybody. What the set tests
is whether the speaker embeddings and the clustering tell real voices apart (timbre, pitch,
recording chain), which the espeak-ng conversations (one synthesiser, re-pitched) cannot.
Each prompt's leading and trailing silence is trimmed, so the RTTM marks speech only.

Two bands, never mixed within a conversation (a band difference would give the clustering a
cue that real callers do not):
- telephone (8 kHz): the rv* conversations, from the prompts as 8 kHz WAV or GSM;
- wideband (16 kHz, the rate of the production models): the wb* conversations, from the same
  four core voices as G.722, which carries 50-7000 Hz.

    apt-get download asterisk-core-sounds-{en,fr,it,ru}-wav asterisk-core-sounds-{en,fr,it,ru}-g722 \
        asterisk-prompt-fr-armelle asterisk-prompt-it-menardi-wav
    for f in *.deb; do dpkg-deb -x "$f" debs; done
    python audio_fixtures/real_voices/make_real_voices.py debs/usr/share/asterisk/sounds

Licences (from each package's /usr/share/doc/*/copyright): Allison Smith (en_US) and June
Wallack (fr_CA) CC-BY-SA-3.0; Carlo Flora (it_IT) and the IvrvoiceRU voice provided by Maxim
Topal (ru_RU) CC-BY-3.0; Paola Dal Zot (it, asterisk-prompt-it-menardi, recorded by Marco
Menardi and Paola Dal Zot, http://www.voip.ammdomus.it) CC-BY-SA-3.0; Armelle Desjardins (fr,
asterisk-prompt-fr-armelle, (C) 2006 Michel Gutierrez) a BSD-style licence that asks the
copyright notice be kept. The assembled files are therefore CC-BY-SA-3.0, with these
attributions and notices (manifest.jsonl carries them per file, NOTICE the sources' texts).
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from workers.evaluation.diarization import write_rttm

OUT_DIR = Path(__file__).resolve().parent
TELEPHONE = 8000  # the WAV and GSM prompts' own rate; decoding resamples to 16 kHz
WIDEBAND = 16000  # G.722
BANDS = {TELEPHONE: "8 kHz telephony", WIDEBAND: "16 kHz wideband, G.722"}
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
    suffix: str = ".wav"  # .wav, .gsm (8 kHz) or .g722 (16 kHz)

    @property
    def rate(self) -> int:
        return WIDEBAND if self.suffix == ".g722" else TELEPHONE


ALLISON = Voice("allison", "en_US_f_Allison", "Allison Smith", "en", "CC-BY-SA-3.0", "asterisk-core-sounds-en-wav 1.6.1-1")
JUNE = Voice("june", "fr_CA_f_June", "June Wallack", "fr", "CC-BY-SA-3.0", "asterisk-core-sounds-fr-wav 1.6.1-1")
CARLO = Voice("carlo", "it_IT_m_Carlo", "Carlo Flora", "it", "CC-BY-3.0", "asterisk-core-sounds-it-wav 1.6.1-1")
IVRVOICE_RU = Voice(
    "ivrvoice_ru",
    "ru_RU_f_IvrvoiceRU",
    "IvrvoiceRU (provided by Maxim Topal)",
    "ru",
    "CC-BY-3.0",
    "asterisk-core-sounds-ru-wav 1.6.1-1",
)
PAOLA = Voice(
    "paola",
    "it_IT_f_Menardi",
    "Paola Dal Zot (recorded by Marco Menardi and Paola Dal Zot, http://www.voip.ammdomus.it)",
    "it",
    "CC-BY-SA-3.0",
    "asterisk-prompt-it-menardi-wav 1:1.4.22+mm20110907-3.1",
)
ARMELLE = Voice(
    "armelle",
    "fr",
    "Armelle Desjardins (Copyright (C) 2006 Michel Gutierrez)",
    "fr",
    "BSD-style (notice kept)",
    "asterisk-prompt-fr-armelle 20070613-2.2",
    ".gsm",
)
CORE = (ALLISON, JUNE, CARLO, IVRVOICE_RU)
VOICES = {v.label: v for v in (*CORE, PAOLA, ARMELLE)}
# The core voices again, as G.722 (the same recordings, wideband).
WIDE_VOICES = {v.label: replace(v, package=v.package.replace("-wav ", "-g722 "), suffix=".g722") for v in CORE}

# id -> (voices, turns, total speech seconds wanted). Female voices share conversations: the
# hardest pairs. The first four are the set's first version, kept as they were (same seed).
CONVERSATIONS = {
    "rv2_allison_carlo": (["allison", "carlo"], 10, 18.0),
    "rv2_allison_june": (["allison", "june"], 10, 18.0),
    "rv3_allison_june_carlo": (["allison", "june", "carlo"], 12, 24.0),
    "rv4_all": (["allison", "june", "carlo", "ivrvoice_ru"], 14, 28.0),
}
ADDED_CONVERSATIONS = {
    "rv2_armelle_paola": (["armelle", "paola"], 10, 18.0),
    "rv3_paola_armelle_carlo": (["paola", "armelle", "carlo"], 12, 24.0),
}
WIDE_CONVERSATIONS = {
    "wb2_allison_carlo": (["allison", "carlo"], 10, 18.0),
    "wb2_allison_june": (["allison", "june"], 10, 18.0),
    "wb3_allison_june_carlo": (["allison", "june", "carlo"], 12, 24.0),
    "wb4_all": (["allison", "june", "carlo", "ivrvoice_ru"], 14, 28.0),
}


def read_prompt(path: Path, rate: int) -> np.ndarray:
    """A prompt file as float32 mono at `rate`: WAV by soundfile, GSM and G.722 by PyAV (ffmpeg)."""
    if path.suffix == ".wav":
        audio, found = sf.read(path, dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
    else:
        import av

        with av.open(str(path), format=path.suffix[1:]) as container:
            stream = container.streams.audio[0]
            found = stream.rate
            frames = [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
            mono = np.concatenate([np.zeros(0, np.int16), *frames]).astype(np.float32) / 32768.0
    if found != rate:
        raise SystemExit(f"{path}: {found} Hz, expected {rate}")
    return mono


def trimmed(path: Path, rate: int) -> np.ndarray:
    """The prompt at `rate`, mono, without its leading and trailing silence."""
    mono = read_prompt(path, rate)
    frame = round(FRAME_S * rate)
    frames = len(mono) // frame
    if frames == 0:
        return mono[:0]
    level = 20 * np.log10(np.sqrt((mono[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1)) + 1e-9)
    loud = np.flatnonzero(level > level.max() + TRIM_BELOW_DB)
    return mono[loud[0] * frame : (loud[-1] + 1) * frame]


def prompts(sounds: Path, voice: Voice) -> list[tuple[str, np.ndarray]]:
    """The voice's prompts of 0.8-4 s of speech, by name (the same names in every language)."""
    found = []
    for path in sorted((sounds / voice.folder).glob(f"*{voice.suffix}")):
        speech = trimmed(path, voice.rate)
        if 0.8 <= len(speech) / voice.rate <= 4.0:
            found.append((path.stem, speech))
    if not found:
        raise SystemExit(f"no prompts under {sounds / voice.folder}: see the module docstring")
    return found


def build(
    conversation_id: str,
    voices: list[str],
    n_turns: int,
    speech_s: float,
    table: dict[str, Voice],
    sounds: Path,
    rng: random.Random,
) -> dict:
    chosen = [table[label] for label in voices]
    rate = chosen[0].rate
    if any(v.rate != rate for v in chosen):
        raise SystemExit(f"{conversation_id}: voices of different bands")
    pool = {v.label: prompts(sounds, v) for v in chosen}
    # Every voice speaks; after that, any other voice than the one before may take the turn.
    order = voices[:]
    while len(order) < n_turns:
        order.append(rng.choice([v for v in voices if v != order[-1]]))
    per_turn_s = speech_s / n_turns
    pieces, turns = [], []
    cursor = round(LEAD_IN_S * rate)
    for speaker in order:
        # A turn is one or more prompts of one voice, 0.15 s apart, about per_turn_s long.
        start, parts, length = cursor, [], 0
        wanted = per_turn_s * rate * rng.uniform(0.6, 1.4)
        while length < wanted:
            name, speech = rng.choice(pool[speaker])
            if parts:
                parts.append(np.zeros(round(0.15 * rate), dtype=np.float32))
            parts.append(speech * rng.uniform(0.6, 1.0))
            length = sum(len(p) for p in parts)
        samples = np.concatenate(parts)
        pieces.append((start, samples))
        turns.append({"speaker": speaker, "start_s": start / rate, "end_s": (start + len(samples)) / rate})
        cursor = start + len(samples) + round(rng.uniform(0.3, 0.9) * rate)
    mix = np.zeros(cursor + round(LEAD_IN_S * rate), dtype=np.float32)
    for start, samples in pieces:
        mix[start : start + len(samples)] += samples
    sf.write(OUT_DIR / f"{conversation_id}.flac", mix, rate, subtype="PCM_16", format="FLAC")
    write_rttm(OUT_DIR / f"{conversation_id}.rttm", conversation_id, ((t["start_s"], t["end_s"], t["speaker"]) for t in turns))
    return {
        "id": conversation_id,
        "file": f"{conversation_id}.flac",
        "rttm": f"{conversation_id}.rttm",
        "num_speakers": len(voices),
        "speakers": [
            {
                "label": v.label,
                "person": v.person,
                "language": v.language,
                "source": v.package,
                "license": v.licence,
            }
            for v in chosen
        ],
        "turns": len(turns),
        "duration_s": round(len(mix) / rate, 3),
        "sample_rate": rate,
        "synthetic": False,
        "assembled": True,
        "license": "CC-BY-SA-3.0 (assembled from the recordings named in speakers; attribution: their persons; notices: NOTICE)",
        "notes": f"Real human voices (studio voice prompts, {BANDS[rate]}); the conversation itself is assembled by "
        "make_real_voices.py: turn order, lengths and pauses are chosen by the script, there is no overlap.",
    }


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    sounds = Path(sys.argv[1])
    entries = []
    # Each group draws from its own generator, so adding a group never changes the files of another.
    for group, table, seed in (
        (CONVERSATIONS, VOICES, SEED),
        (ADDED_CONVERSATIONS, VOICES, SEED + 1),
        (WIDE_CONVERSATIONS, WIDE_VOICES, SEED),
    ):
        rng = random.Random(seed)
        entries += [build(cid, voices, turns, speech_s, table, sounds, rng) for cid, (voices, turns, speech_s) in group.items()]
    (OUT_DIR / "manifest.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    for e in entries:
        print(f"{e['file']}: {e['num_speakers']} voices, {e['turns']} turns, {e['duration_s']} s")


if __name__ == "__main__":
    main()
