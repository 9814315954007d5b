"""The offline diarizer on REAL human voices: audio_fixtures/real_voices, conversations assembled
from studio voice prompts of six people (Asterisk PBX prompts: CC-BY-SA-3.0, CC-BY-3.0 and a
BSD-style notice), at 8 kHz telephony (rv*) and at 16 kHz wideband (wb*, the same four core voices
as G.722). The voices are real; who speaks when is chosen by make_real_voices.py.

These gates are where the clustering settings were tuned (bench/diarization/sweep.py, table in
docs/benchmarks.md); the synthetic espeak-ng gates of test_diarization.py are regression checks.
Measured with the defaults on a 2-core CPU (AMD Zen 2 for the first four, Zen 3 for all ten):
DER 0.108, 0.415, 0.308, 0.310, 0.374, 0.369 (8 kHz) and 0.037, 0.466, 0.136, 0.532 (16 kHz),
mean 0.306. Two female voices (Allison and June) are found as one speaker at 8 kHz and split
wrongly at 16 kHz; two others (Armelle and Paola) are told apart but with many errors: known
limits of the offline CAM++ embeddings, gated as measured, not as a success.
"""

import json

import pytest

from tests.conftest import FIXTURES_DIR
from workers.evaluation.diarization import diarization_error, read_rttm
from workers.pipeline.diarize import diarize
from workers.transcript.audio import decode_audio

pytestmark = pytest.mark.diarization

REAL_VOICES = FIXTURES_DIR / "real_voices"
MEAN_DER_AT_MOST = 0.35
# Per recording: the measured DER plus a margin.
DER_AT_MOST = {
    "rv2_allison_carlo": 0.16,
    "rv2_allison_june": 0.46,
    "rv3_allison_june_carlo": 0.36,
    "rv4_all": 0.36,
    "rv2_armelle_paola": 0.42,
    "rv3_paola_armelle_carlo": 0.42,
    "wb2_allison_carlo": 0.09,
    "wb2_allison_june": 0.51,
    "wb3_allison_june_carlo": 0.19,
    "wb4_all": 0.58,
}
# Recordings whose number of speakers is found with the defaults (7 of 10).
COUNT_FOUND = (
    "rv2_allison_carlo",
    "rv3_allison_june_carlo",
    "rv4_all",
    "rv2_armelle_paola",
    "wb2_allison_carlo",
    "wb3_allison_june_carlo",
    "wb4_all",
)
LICENCES = ("CC-BY-SA-3.0", "CC-BY-3.0", "BSD-style (notice kept)")


@pytest.fixture(scope="module")
def entries() -> list[dict]:
    return [json.loads(line) for line in (REAL_VOICES / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def found(offline_diarizer, entries):
    """id -> (entry, Diarization), no number of speakers given."""
    return {e["id"]: (e, diarize(offline_diarizer, decode_audio(REAL_VOICES / e["file"]))) for e in entries}


def test_the_set_is_real_voices_labelled_as_assembled_with_their_licences(entries):
    assert {e["id"] for e in entries} == set(DER_AT_MOST)
    assert {e["sample_rate"] for e in entries} == {8000, 16000}
    assert (REAL_VOICES / "NOTICE").is_file()
    for entry in entries:
        assert entry["synthetic"] is False and entry["assembled"] is True
        assert all(s["license"] in LICENCES and s["person"] for s in entry["speakers"])
        assert {t.speaker for t in read_rttm(REAL_VOICES / entry["rttm"])} == {s["label"] for s in entry["speakers"]}


def test_der_on_real_voices_stays_within_the_measured_bounds(found):
    scores = {i: diarization_error(read_rttm(REAL_VOICES / e["rttm"]), d.turns).der for i, (e, d) in found.items()}
    assert all(scores[i] <= bound for i, bound in DER_AT_MOST.items()), scores
    assert sum(scores.values()) / len(scores) <= MEAN_DER_AT_MOST, scores


def test_the_number_of_real_speakers_is_found(found):
    counts = {i: (len(found[i][1].speakers), found[i][0]["num_speakers"]) for i in COUNT_FOUND}
    assert all(got == want for got, want in counts.values()), counts
