"""The transcript as read in txt and DOCX: paragraphs with a time, a speaker per turn, sentences
kept whole where the words allow."""

from __future__ import annotations

from hypothesis import given, settings

from tests.transcripts import MODEL, segment, transcript, words
from tests.unit.test_subtitles import transcripts
from workers.transcript.reading import PARAGRAPH_TARGET_S, clock, paragraphs, to_plain_text, to_text
from workers.transcript.types import Segment, Transcript, Word


def diarized(*turns: tuple[str, list[tuple[float, float, str]]]) -> Transcript:
    segments = []
    for speaker, spec in turns:
        ws = tuple(Word(s, e, text, 0.9, speaker) for s, e, text in spec)
        segments.append(Segment(len(segments), ws[0].start_s, ws[-1].end_s, " ".join(w.text for w in ws), ws, -0.1, 0.0, speaker))
    return Transcript("sv", 1.0, 60.0, tuple(segments), MODEL, diarization_model="test")


def test_a_sentence_end_handed_to_the_next_speaker_goes_back_to_its_sentence():
    t = diarized(
        ("Talare 1", [(0.0, 0.4, "Vi"), (0.5, 0.8, "ses"), (0.9, 1.0, "i")]),
        ("Talare 2", [(1.1, 1.6, "morgon."), (2.0, 2.4, "Hej"), (2.5, 2.9, "då.")]),
    )
    assert to_text(t) == "[00:00] Talare 1: Vi ses i morgon.\n[00:02] Talare 2: Hej då.\n"


def test_a_sentence_start_left_with_the_previous_speaker_goes_to_its_sentence():
    t = diarized(
        ("Talare 1", [(0.0, 0.4, "Tack."), (0.5, 0.8, "Vad")]),
        ("Talare 2", [(0.9, 1.2, "heter"), (1.3, 1.6, "du?")]),
    )
    assert to_plain_text(t) == "Talare 1: Tack.\nTalare 2: Vad heter du?\n"


def test_a_real_interjection_and_an_even_split_stay_where_diarization_put_them():
    t = diarized(
        ("Talare 1", [(0.0, 0.4, "Vi"), (0.5, 0.8, "har"), (0.9, 1.0, "beslutat")]),
        ("Talare 2", [(1.1, 1.6, "okej")]),
        ("Talare 1", [(1.7, 2.0, "att"), (2.1, 2.4, "bevilja"), (2.5, 2.9, "bidraget.")]),
    )
    assert [p.speaker for p in paragraphs(t)] == ["Talare 1", "Talare 2", "Talare 1"]
    even = diarized(("Talare 1", [(0.0, 0.4, "Hej")]), ("Talare 2", [(0.5, 0.8, "där.")]))
    assert [p.text for p in paragraphs(even)] == ["Hej", "där."]


def test_a_long_turn_gets_a_new_time_at_the_first_sentence_end_after_half_a_minute():
    spec = [(i * 2.0, i * 2.0 + 1.5, "mening." if i % 5 == 4 else "ord") for i in range(40)]
    t = transcript(segment(0, words(*spec)), duration_s=90.0)
    found = paragraphs(t)
    assert [p.start_s for p in found] == [0.0, 40.0]  # the sentence ending at 39.5 s closes the first
    assert all(p.text.endswith("mening.") for p in found)
    assert found[0].end_s - found[0].start_s >= PARAGRAPH_TARGET_S


def test_a_long_silence_starts_a_new_paragraph_and_undiarized_text_has_no_label():
    t = transcript(segment(0, words((0.5, 1.0, "Hej."))), segment(1, words((65.0, 65.5, "Hallå?"))), duration_s=70.0)
    assert to_text(t) == "[00:00] Hej.\n[01:05] Hallå?\n"


def test_clock():
    assert clock(65.9, with_hours=False) == "01:05"
    assert clock(3725.0, with_hours=True) == "1:02:05"
    assert clock(0.0, with_hours=True) == "0:00:00"
    assert clock(-1.0, with_hours=False) == "00:00"


@settings(max_examples=100, deadline=None)
@given(transcripts())
def test_paragraphs_hold_every_word_once_in_order_one_speaker_each(t):
    found = paragraphs(t)
    assert " ".join(p.text for p in found) == " ".join(w.text for w in t.words if w.text.strip())
    assert [p.start_s for p in found] == sorted(p.start_s for p in found)
    assert all(p.speaker is None for p in found) or t.diarization_model is not None
    lines = to_text(t).splitlines()
    assert len(lines) == len(found) and all(line.startswith("[") for line in lines)
