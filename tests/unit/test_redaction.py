"""workers/redaction: spoken numbers, identifier checks, recognisers, and the redacted
transcript (placeholders, timings kept, entities listed without values). Pure functions: ms."""

from __future__ import annotations

import dataclasses

import pytest

from tests.transcripts import segment, transcript
from workers.redaction.entities import EntityType
from workers.redaction.identifiers import classify, personnummer_kind
from workers.redaction.redact import find_entities, find_hits, redact_transcript
from workers.redaction.spoken_numbers import word_digits
from workers.transcript.types import Segment, Word

T = EntityType


@pytest.mark.parametrize(
    ("word", "digits"),
    [
        ("noll", "0"),
        ("tolv", "12"),
        ("åttiofem", "85"),
        ("nittonhundraåttiofem", "1985"),
        ("tjugotre,", "23"),
        ("hundratjugotre", "123"),
        ("tvåtusenfyra", "2004"),
        ("850312-3310", "8503123310"),
        ("+46", "+46"),
        ("070-123", "070123"),
        ("hej", None),
        ("sjuttiotio", None),
        ("", None),
    ],
)
def test_word_digits(word, digits):
    assert word_digits(word) == digits


def test_personnummer_shape_date_and_check_digit():
    assert personnummer_kind("8503123310") == (T.PERSONNUMMER, True)
    assert personnummer_kind("198503123310") == (T.PERSONNUMMER, True)
    assert personnummer_kind("8503123311") == (T.PERSONNUMMER, False)
    assert personnummer_kind("6704610499") == (T.SAMORDNINGSNUMMER, True)
    assert personnummer_kind("8513123310") is None  # month 13
    assert personnummer_kind("0002293310") is not None  # 29 February 2000
    assert personnummer_kind("0102293310") is None  # no 29 February in 2001 nor 1901
    assert personnummer_kind("850312331") is None


def test_classify_prefers_the_cue_and_the_spelling():
    assert classify("0701234567").type == T.TELEFON
    # Born 2001-01-30, written NNNNNN-NNNN: a personnummer, not a 010 phone number.
    assert classify("0101304046", dash_after_six=True).type == T.PERSONNUMMER
    assert classify("0101304046", cues=frozenset({T.PERSONNUMMER})).type == T.PERSONNUMMER
    assert classify("5566778899").type == T.ORGANISATIONSNUMMER
    assert classify("4532015112830366").type == T.BANKKORT
    assert classify("+4741234567").type == T.TELEFON
    assert classify("5678123", cues=frozenset({T.BANKGIRO})).type == T.BANKGIRO
    assert classify("20241234") is None
    assert classify("1250000") is None


def _redacted(text: str) -> str:
    words = text.split()
    out, position = [], 0
    for hit in find_hits(words):
        out += [*words[position : hit.first], hit.type.placeholder]
        position = hit.end
    return " ".join(out + words[position:])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mitt personnummer är 19850312-3310 och", "Mitt personnummer är [PERSONNUMMER] och"),
        ("Personnummer nitton åttiofem noll tre tolv, tre tre ett noll.", "Personnummer [PERSONNUMMER]"),
        ("åtta fem noll tre ett två tre tre ett noll", "[PERSONNUMMER]"),
        ("Ring 070-123 45 67 eller 08-123 456 78.", "Ring [TELEFON] eller [TELEFON]"),
        ("noll sju noll ett två tre fyra fem sex sju", "[TELEFON]"),
        ("Ring +46 (0)70 123 45 67 i dag.", "Ring [TELEFON] i dag."),
        ("plus fyrtiosex sjuttio ett två tre fyrtiofem sextiosju", "[TELEFON]"),
        ("Mejla anna punkt svensson snabel-a exempel punkt se tack.", "Mejla [E-POST] tack."),
        ("Till anna.svensson@exempel.se i dag.", "Till [E-POST] i dag."),
        ("Jag heter Björn Andersson och min handläggare heter Karin.", "Jag heter [NAMN] och min handläggare heter [NAMN]"),
        ("Bilen har registreringsnummer ABC 123.", "Bilen har registreringsnummer [REGISTRERINGSNUMMER]"),
        ("bankgiro 5678-123 eller IBAN SE45 5000 0000 0583 9825 7466.", "bankgiro [BANKGIRO] eller IBAN [IBAN]"),
        ("Organisationsnummer 556677-8899.", "Organisationsnummer [ORGANISATIONSNUMMER]"),
        ("Adressen är Kungsgatan 5, 111 43 Stockholm.", "Adressen är [ADRESS]"),
        ("Björn ringde i morse.", "[NAMN] ringde i morse."),
        ("Kan du stava det? S-V-E-N-S-S-O-N.", "Kan du stava det? [NAMN]"),
        ("Han bor på Kungsgatan 12 i Umeå.", "Han bor på [ADRESS] i Umeå."),
        # Digits read one by one, misheard: what no identifier explains is redacted as NUMMER.
        ("numret är 4 ,5 ,0 ,3 ,5 ,2 ,3 ,3 ,5 ,0 ,3 ,4 ,0 ,2 ,0 ,5 ,2 ,3 ,5 ,6", "numret är [NUMMER] [BANKKORT] [NUMMER]"),
        ("numret är 4 5 1 3 8 4 3 3 8 9", "numret är [NUMMER]"),
        ("numret är 4 5 0 3 8 4 3 3 8 9", "numret är [SAMORDNINGSNUMMER]"),  # 45-03-(84-60): the shape of one
    ],
)
def test_recognised(text, expected):
    assert _redacted(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Ärendet har dnr 2024-1234 och mötet är klockan 14.30 den 12 mars 2024.",
        "Vi såg en björn i skogen och hon hade en rosa jacka.",
        "Det kostar 12 500 kronor och hyran är 7 800 kronor i månaden.",
        "Han föddes 1985 och flyttade 2019 till Lund.",
        "Det finns inga pengar och rummet var tomt, sa hans mamma.",
        "Beslutet gäller från 2024-05-01 till 2024-10-31 enligt 4 kap. 1 § SoL.",
        "Målet har nummer T 1234-23 och OCR-nummer 1234567897.",
        "Barnen är 5, 7 och 9 år och har 2 katter.",
        "Inga var hemma när vi kom. Rosa kläder låg på golvet.",
        "Ärendet har dnr 2 0 2 4 1 2 3 4 sedan mars.",
    ],
)
def test_hard_negatives_are_left_alone(text):
    assert find_hits(text.split()) == []


def _words(*texts: str, start_s: float = 0.0) -> tuple[Word, ...]:
    return tuple(Word(start_s + k, start_s + k + 0.8, t, 0.9 - k / 100) for k, t in enumerate(texts))


SAMPLE = transcript(
    segment(0, _words("Jag", "heter", "Anna", "Svensson,", "personnummer", "nitton", "åttiofem", "noll", "tre", "tolv,")),
    segment(1, _words("tre", "tre", "ett", "noll.", start_s=20.0)),
    segment(2, _words("Ring", "070-123", "45", "67.", start_s=30.0)),
    segment(3, _words("Anna", "ringde", "igen.", start_s=40.0)),
)


def test_redacted_transcript_has_placeholders_with_the_spans_timing():
    redacted = redact_transcript(SAMPLE)
    first = redacted.segments[0]
    assert [w.text for w in first.words] == ["Jag", "heter", "[NAMN],", "personnummer", "[PERSONNUMMER],"]
    name = first.words[2]
    assert (name.start_s, name.end_s) == (2.0, 3.8)
    assert name.probability == pytest.approx(min(0.88, 0.87))
    assert first.text == "Jag heter [NAMN], personnummer [PERSONNUMMER],"
    # A number read across a segment boundary: one placeholder in each segment.
    assert redacted.segments[1].text == "[PERSONNUMMER]."
    assert (first.words[4].start_s, first.words[4].end_s) == (5.0, 9.8)
    assert redacted.segments[2].text == "Ring [TELEFON]."
    assert (redacted.segments[2].words[1].start_s, redacted.segments[2].words[1].end_s) == (31.0, 33.8)
    # Said once with a cue, the name is known where it comes back without one.
    assert redacted.segments[3].text == "[NAMN] ringde igen."


def test_entities_are_listed_by_type_segment_and_time_never_by_value():
    redacted = redact_transcript(SAMPLE)
    assert redacted.redaction is not None
    listed = [(e.type, e.segment_id, e.start_s, e.end_s) for e in redacted.redaction.entities]
    assert listed == [
        ("NAMN", 0, 2.0, 3.8),
        ("PERSONNUMMER", 0, 5.0, 9.8),
        ("PERSONNUMMER", 1, 20.0, 23.8),
        ("TELEFON", 2, 31.0, 33.8),
        ("NAMN", 3, 40.0, 40.8),
    ]
    assert "Anna" not in repr(redacted) and "070" not in repr(redacted)


def test_input_is_not_changed_and_the_document_invariants_hold():
    before = dataclasses.replace(SAMPLE)
    redacted = redact_transcript(SAMPLE)
    assert before == SAMPLE
    for seg, original in zip(redacted.segments, SAMPLE.segments):
        assert (seg.start_s, seg.end_s, seg.id) == (original.start_s, original.end_s, original.id)
        starts = [w.start_s for w in seg.words]
        assert starts == sorted(starts)
        assert all(seg.start_s <= w.start_s <= w.end_s <= seg.end_s for w in seg.words)
    assert redacted.duration_s == SAMPLE.duration_s and redacted.timings_s == SAMPLE.timings_s


def test_a_segment_without_word_timings_is_redacted_by_its_text():
    bare = Segment(id=0, start_s=1.0, end_s=5.0, text="Ring 0701234567 nu", words=(), avg_logprob=-0.1, no_speech_prob=0.0)
    redacted = redact_transcript(transcript(bare))
    assert redacted.segments[0].text == "Ring [TELEFON] nu"
    assert redacted.segments[0].words == ()
    assert [(e.start_s, e.end_s) for e in redacted.redaction.entities] == [(1.0, 5.0)]


def test_nothing_to_redact_still_marks_the_transcript_redacted():
    plain = transcript(segment(0, _words("Hej", "och", "välkommen.")))
    redacted = redact_transcript(plain)
    assert redacted.segments == plain.segments
    assert redacted.redaction is not None and redacted.redaction.entities == ()
    assert find_entities(plain) == ()


def test_tone_replaces_the_padded_spans_and_nothing_else(tmp_path):
    import numpy as np

    from workers.redaction.audio import SPAN_PADDING_S, TONE_AMPLITUDE, flac_bytes, tone_over_spans
    from workers.transcript.audio import decode_audio

    rate = 16_000
    speech = np.full(rate * 4, 0.5, dtype=np.float32)
    toned = tone_over_spans(speech, rate, [(1.0, 2.0)])
    assert np.all(speech == 0.5)  # the input is left as it was
    inside = toned[int((1.0 - SPAN_PADDING_S) * rate) : int((2.0 + SPAN_PADDING_S) * rate)]
    assert np.max(np.abs(inside)) == pytest.approx(TONE_AMPLITUDE, abs=1e-3) and not np.any(inside == 0.5)
    assert np.all(toned[: int(0.8 * rate)] == 0.5) and np.all(toned[int(2.2 * rate) :] == 0.5)
    path = tmp_path / "redacted.flac"
    path.write_bytes(flac_bytes(toned, rate))
    decoded = decode_audio(path)
    assert decoded.duration_s == pytest.approx(4.0, abs=0.01)
    assert np.allclose(decoded.samples[: int(0.8 * rate)], 0.5, atol=1e-3)


def test_job_options_redact_and_redact_audio():
    from pydantic import ValidationError

    from workers.intake.options import JobOptions

    assert not JobOptions().redacting
    assert JobOptions(redact=True).redacting and JobOptions(redact_audio=True).redacting
    assert JobOptions.model_validate({"redact": "true"}).stored() == {"redact": True}
    with pytest.raises(ValidationError):
        JobOptions.model_validate({"redact": "maybe"})
