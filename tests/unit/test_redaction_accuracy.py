"""CI gates on the labelled redaction set (audio_fixtures/redaction): recall and precision per
entity type, as measured and recorded in docs/accuracy/redaction.md, minus a margin of 0.02
(the recognisers are deterministic: the figures are the same on every machine). Where the
issue sets a target, the gate is at least that target. Runs in well under a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.evaluation.redaction import load_set, misses, score
from workers.redaction.entities import EntityType

SET_DIR = Path(__file__).resolve().parents[2] / "audio_fixtures" / "redaction"
MARGIN = 0.02
T = EntityType
# (recall, precision) measured on the whole set, 2026-12-02; docs/accuracy/redaction.md.
MEASURED = {
    T.PERSONNUMMER: (1.000, 1.000),
    T.SAMORDNINGSNUMMER: (1.000, 1.000),
    T.ORGANISATIONSNUMMER: (0.889, 1.000),
    T.TELEFON: (0.982, 1.000),
    T.EPOST: (1.000, 1.000),
    T.BANKKORT: (1.000, 1.000),
    T.IBAN: (1.000, 1.000),
    T.BANKGIRO: (1.000, 1.000),
    T.PLUSGIRO: (1.000, 1.000),
    T.ADRESS: (1.000, 0.963),
    T.REGISTRERINGSNUMMER: (1.000, 1.000),
    T.NAMN: (0.991, 1.000),
}
# The targets: (recall, precision); None where it sets none.
TARGETS = {
    T.PERSONNUMMER: (0.99, 0.97),
    T.SAMORDNINGSNUMMER: (0.99, 0.97),
    T.TELEFON: (0.95, None),
    T.EPOST: (0.95, None),
    T.NAMN: (0.85, None),
}


@pytest.fixture(scope="module")
def sentences():
    return load_set(sorted(SET_DIR.glob("*.txt")))


@pytest.fixture(scope="module")
def scores(sentences):
    return score(sentences)


def test_the_set_is_large_enough_and_has_hard_negatives(sentences):
    assert len(sentences) >= 200
    negatives = [s for s in sentences if not s.entities]
    assert len(negatives) >= 60
    labelled_types = {kind for s in sentences for kind, _, _ in s.entities}
    # NUMMER (digits read one by one that make no identifier) is a fallback, not labelled.
    assert labelled_types == set(EntityType) - {EntityType.NUMMER}


@pytest.mark.parametrize("kind", list(MEASURED))
def test_recall_and_precision_hold(scores, sentences, kind):
    recall, precision = MEASURED[kind]
    target_recall, target_precision = TARGETS.get(kind, (None, None))
    got = scores[kind]
    if got.recall < max(recall - MARGIN, target_recall or 0.0) or got.precision < max(
        precision - MARGIN, target_precision or 0.0
    ):
        why = "\n".join(line for line in misses(sentences) if kind.value in line)
        pytest.fail(f"{kind.value}: recall {got.recall:.3f}, precision {got.precision:.3f}\n{why}")
