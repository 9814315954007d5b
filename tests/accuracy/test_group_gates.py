"""Per-group accuracy gates on the synthetic fixtures: each dialect area, each recording
condition and all of them together, with the offline model.

Why CER and not WER: the fixtures are espeak-ng speech, which Whisper base hears badly; their
WER sits near (and above) 100 %, where insertions dominate and a real regression barely moves
it. CER still tracks how close the words come, so it is the figure gated here. Real speech is
gated on WER in test_wer_gates.py.

The dialect areas are vocabulary and place names spoken by one synthetic voice, not dialect
sound: a regression here means the pipeline got worse at those words under that condition.

Bounds: the CER measured on 2026-11-23 by `python -m tests.accuracy.gated_run` (decoded
deterministically, see gated_run.py; two runs gave identical figures) plus a margin of 0.04
(0.03 overall, which pools ~780 reference words). Tighten them when accuracy improves; never
loosen one without saying why in the commit.
"""

import pytest

from tests.accuracy.gated_run import by, is_speech, rates

pytestmark = [pytest.mark.accuracy, pytest.mark.model]

# dialect area -> (measured CER, bound)
CER_BY_DIALECT_AREA = {
    "standard": (0.5119, 0.56),
    "sydsvenska mål": (0.5399, 0.58),
    "götamål": (0.8451, 0.89),
    "sveamål": (0.6136, 0.66),
    "norrländska mål": (0.6048, 0.65),
    "östsvenska mål": (0.5793, 0.62),
    "gotländska mål": (0.6034, 0.65),
}
# recording condition -> (measured CER, bound)
CER_BY_CONDITION = {
    "clean": (0.4274, 0.47),
    "telephone": (0.8011, 0.85),
    "noise_10db": (0.6918, 0.74),
    "reverb": (0.6769, 0.72),
    "fast": (0.5917, 0.64),
}
CER_OVERALL = (0.6048, 0.64)


def test_every_area_and_condition_is_gated(gated_fixture_run):
    assert set(by(gated_fixture_run, "dialect_area")) == set(CER_BY_DIALECT_AREA)
    assert set(by(gated_fixture_run, "condition")) == set(CER_BY_CONDITION)


@pytest.mark.parametrize("area", sorted(CER_BY_DIALECT_AREA))
def test_dialect_area_cer(gated_fixture_run, area):
    measured, bound = CER_BY_DIALECT_AREA[area]
    got = rates(gated_fixture_run, lambda e: e["dialect_area"] == area)
    assert got.cer <= bound, f"{area}: CER {got.cer:.4f} > bound {bound} (measured {measured})"


@pytest.mark.parametrize("condition", sorted(CER_BY_CONDITION))
def test_condition_cer(gated_fixture_run, condition):
    measured, bound = CER_BY_CONDITION[condition]
    got = rates(gated_fixture_run, lambda e: e["condition"] == condition)
    assert got.cer <= bound, f"{condition}: CER {got.cer:.4f} > bound {bound} (measured {measured})"


def test_overall_cer(gated_fixture_run):
    measured, bound = CER_OVERALL
    got = rates(gated_fixture_run)
    assert got.cer <= bound, f"CER {got.cer:.4f} > bound {bound} (measured {measured})"


def test_silence_noise_and_tone_yield_no_words_in_a_batch(gated_fixture_run):
    # tests/pipeline covers them decoded one by one; here they sit among speech in one batch.
    non_speech = {e["condition"]: text for e, text in gated_fixture_run if not is_speech(e)}
    assert set(non_speech) == {"silence", "noise_only", "tone_only"}
    assert non_speech == {c: "" for c in non_speech}
