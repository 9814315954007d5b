"""Per-group accuracy gates on the synthetic fixtures: each dialect area, each recording
condition and all of them together, with the offline model, on WER and on CER.

Both figures come from the same batched pass. WER is what the gates promise to hold; but the
fixtures are espeak-ng speech, which Whisper base hears badly, so their WER sits near (and
above) 100 %, where insertions dominate and a real regression moves it little. CER still
tracks how close the words come, so it is gated beside WER. Real speech is gated in
test_wer_gates.py.

The dialect areas are vocabulary and place names spoken by one synthetic voice, not dialect
sound: a regression here means the pipeline got worse at those words under that condition.

Bounds: the figures measured on 2026-12-01 by `python -m tests.accuracy.gated_run` (decoded
deterministically, see gated_run.py) plus a margin: per area and condition 0.05 WER (about a
hundred reference words each, one word is about one point) and 0.04 CER; overall 0.03 for
both (about 780 reference words). Bounds are rounded up to two decimals. Tighten them when
accuracy improves; never loosen one without saying why in the commit.

The CER bounds were re-derived from the same run as the WER ones. Its CER figures are 0.003 to
0.23 below those measured on 2026-11-23 (götamål 0.85 -> 0.62, telephone 0.80 -> 0.70) with
the decoding code unchanged since; the environment was rebuilt in between (ctranslate2 4.8.5
now). The cause was not pinned down: if CI gives the older figures, look there first.
"""

import pytest

from tests.accuracy.gated_run import by, is_speech, rates

pytestmark = [pytest.mark.accuracy, pytest.mark.model]

METRICS = ("wer", "cer")
# name -> {metric: (measured, bound)}
GATES_BY_DIALECT_AREA = {
    "standard": {"wer": (0.8941, 0.95), "cer": (0.4416, 0.49)},
    "sydsvenska mål": {"wer": (0.9528, 1.01), "cer": (0.4535, 0.50)},
    "götamål": {"wer": (1.0200, 1.07), "cer": (0.6195, 0.66)},
    "sveamål": {"wer": (1.0571, 1.11), "cer": (0.5688, 0.61)},
    "norrländska mål": {"wer": (1.0594, 1.11), "cer": (0.6032, 0.65)},
    "östsvenska mål": {"wer": (0.9600, 1.01), "cer": (0.6061, 0.65)},
    "gotländska mål": {"wer": (0.9802, 1.04), "cer": (0.6000, 0.64)},
}
GATES_BY_CONDITION = {
    "clean": {"wer": (0.8866, 0.94), "cer": (0.4247, 0.47)},
    "telephone": {"wer": (0.9613, 1.02), "cer": (0.6975, 0.74)},
    "noise_10db": {"wer": (1.0368, 1.09), "cer": (0.6211, 0.67)},
    "reverb": {"wer": (1.1933, 1.25), "cer": (0.6475, 0.69)},
    "fast": {"wer": (0.9286, 0.98), "cer": (0.4523, 0.50)},
}
GATES_OVERALL = {"wer": (0.9808, 1.02), "cer": (0.5454, 0.58)}


def _check(got, gates: dict, what: str) -> None:
    failed = [f"{what}: {m.upper()} {getattr(got, m):.4f} > bound {bound} (measured {measured})"
              for m, (measured, bound) in gates.items() if getattr(got, m) > bound]
    assert failed == []


def test_every_area_and_condition_is_gated_on_both_metrics(gated_fixture_run):
    assert set(by(gated_fixture_run, "dialect_area")) == set(GATES_BY_DIALECT_AREA)
    assert set(by(gated_fixture_run, "condition")) == set(GATES_BY_CONDITION)
    gates = [*GATES_BY_DIALECT_AREA.values(), *GATES_BY_CONDITION.values(), GATES_OVERALL]
    assert all(set(g) == set(METRICS) for g in gates)


@pytest.mark.parametrize("area", sorted(GATES_BY_DIALECT_AREA))
def test_dialect_area(gated_fixture_run, area):
    _check(rates(gated_fixture_run, lambda e: e["dialect_area"] == area), GATES_BY_DIALECT_AREA[area], area)


@pytest.mark.parametrize("condition", sorted(GATES_BY_CONDITION))
def test_condition(gated_fixture_run, condition):
    _check(rates(gated_fixture_run, lambda e: e["condition"] == condition), GATES_BY_CONDITION[condition], condition)


def test_overall(gated_fixture_run):
    _check(rates(gated_fixture_run), GATES_OVERALL, "all synthetic fixtures")


def test_silence_noise_and_tone_yield_no_words_in_a_batch(gated_fixture_run):
    # tests/pipeline covers them decoded one by one; here they sit among speech in one batch.
    non_speech = {e["condition"]: text for e, text in gated_fixture_run if not is_speech(e)}
    assert set(non_speech) == {"silence", "noise_only", "tone_only"}
    assert non_speech == {c: "" for c in non_speech}
