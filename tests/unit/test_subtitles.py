"""Subtitle cues by the conventions in workers/transcript/subtitles.py: properties over generated
transcripts (hypothesis), examples of where cues and lines break, and goldens on real speech.

Goldens: tests/golden/real_speech/<clip>.transcript.json is what the offline model transcribed
from audio_fixtures/real_speech/<clip>.flac; beside it the .srt, .vtt and .txt rendered from
it. After a deliberate change to the rules, UPDATE_GOLDEN=1 rewrites them (review the diff).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.transcripts import MODEL, segment, transcript, words
from workers.transcript.formats import render, transcript_from_json
from workers.transcript.reading import tokens
from workers.transcript.subtitles import MAX_PAUSE_IN_CUE_S, Cue, SubtitleOptions, speaker_label, subtitle_cues
from workers.transcript.types import Segment, Transcript, Word

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "real_speech"
EPS = 1e-6

# -- generated transcripts -------------------------------------------------------------------

_LETTERS = "abcdefghijklmnoprstuvyåäö"
_word_text = st.tuples(
    st.text(_LETTERS, min_size=1, max_size=14) | st.text(_LETTERS, min_size=43, max_size=50),
    st.sampled_from(["", "", "", "", ",", ".", "?", "!"]),
).map("".join)
_word = st.tuples(
    st.floats(0.0, 2.5),  # silence before the word, s
    st.floats(0.0, 1.2),  # the word's length, s
    _word_text | st.sampled_from(["och", "att", "som", "men", "i", "för"]),
    st.integers(0, 2),  # speaker
)


@st.composite
def transcripts(draw) -> Transcript:
    """Words with random gaps and lengths, cut into segments of one speaker each; diarized or not."""
    diarized = draw(st.booleans())
    spec = draw(st.lists(_word, min_size=0, max_size=60))
    segments: list[Segment] = []
    t, current, speaker = 0.0, [], None
    for gap_s, length_s, text, who in spec:
        t += gap_s
        word = Word(start_s=round(t, 3), end_s=round(t + length_s, 3), text=text, probability=0.9)
        t += length_s
        label = f"Talare {who + 1}" if diarized else None
        if current and (label != speaker or draw(st.integers(0, 9)) == 0):
            segments.append(_segment(len(segments), current, speaker))
            current = []
        current.append(word)
        speaker = label
    if current:
        segments.append(_segment(len(segments), current, speaker))
    return Transcript(
        language="sv",
        language_probability=1.0,
        duration_s=round(t + draw(st.floats(0.0, 3.0)), 3),
        segments=tuple(segments),
        model=MODEL,
        diarization_model="test" if diarized else None,
    )


def _segment(seg_id: int, ws: list[Word], speaker: str | None) -> Segment:
    ws = [Word(w.start_s, w.end_s, w.text, w.probability, speaker) for w in ws]
    return Segment(
        id=seg_id,
        start_s=ws[0].start_s,
        end_s=ws[-1].end_s,
        text=" ".join(w.text for w in ws),
        words=tuple(ws),
        avg_logprob=-0.2,
        no_speech_prob=0.0,
        speaker=speaker,
    )


options_strategy = st.builds(SubtitleOptions, max_line_chars=st.integers(10, 60), max_lines=st.integers(1, 3))


def check_rules(t: Transcript, cues: tuple[Cue, ...], options: SubtitleOptions) -> None:
    speech_end_s = max([t.duration_s, *(w.end_s for w in t.words)])
    # Every word once, in order, none cut.
    assert [w for c in cues for w in c.words] == [w for w in t.words if w.text.strip()]
    for k, cue in enumerate(cues):
        label = speaker_label(cue.speaker)
        next_start_s = cues[k + 1].start_s if k + 1 < len(cues) else speech_end_s
        duration_s = cue.end_s - cue.start_s
        # Lines: at most max_lines, each within max_line_chars unless it is one word alone;
        # read in order they are the label and the words.
        assert 1 <= len(cue.lines) <= options.max_lines
        assert " ".join(cue.lines) == label + cue.text
        for line in cue.lines:
            assert len(line) <= options.max_line_chars or " " not in line.removeprefix(label), (line, cue)
        # Times: in order, never overlapping, starting with the first word.
        assert cue.start_s == cue.words[0].start_s
        assert duration_s >= 0 and cue.end_s <= next_start_s + EPS
        # 1-7 s: longer only for one word that lasts longer; shorter only when the next cue
        # (or the end of the recording) comes first.
        if duration_s > options.max_duration_s + EPS:
            assert len(cue.words) == 1 and cue.end_s == pytest.approx(cue.words[0].end_s)
        if duration_s < options.min_duration_s - EPS:
            assert cue.end_s == pytest.approx(next_start_s), cue
        # Reading speed: over the limit only when the cue could not stay up longer.
        chars = sum(len(line) for line in cue.lines) + len(cue.lines) - 1
        if duration_s > 0 and chars / duration_s > options.max_chars_per_s + EPS:
            limit_s = min(next_start_s, cue.start_s + options.max_duration_s)
            assert cue.end_s == pytest.approx(limit_s) or cue.end_s >= max(w.end_s for w in cue.words) >= limit_s - EPS
        # One speaker, no long silence inside.
        assert len({cue.speaker}) == 1
        assert all(b.start_s - a.end_s < MAX_PAUSE_IN_CUE_S for a, b in zip(cue.words, cue.words[1:]))
    for a, b in zip(cues, cues[1:]):
        assert a.end_s <= b.start_s + EPS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transcripts(), options_strategy)
def test_cues_keep_the_rules_on_any_transcript(t, options):
    check_rules(t, subtitle_cues(t, options), options)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transcripts())
def test_srt_and_vtt_show_the_same_cues_in_order(t):
    srt, vtt = render(t, "srt"), render(t, "vtt")
    stamps = re.findall(r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d)", srt)
    millis = [((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms) for h, m, s, ms in stamps]
    assert millis == sorted(millis)
    assert re.findall(r"\d\d:\d\d:\d\d.\d\d\d --> .*", srt) == [
        line.replace(".", ",") for line in re.findall(r"\d\d:\d\d:\d\d.\d\d\d --> .*", vtt)
    ]


# -- examples --------------------------------------------------------------------------------


def test_a_cue_breaks_at_a_comma_rather_than_mid_clause():
    text = "Vi har gått igenom ansökan noga, och vi beslutar att bevilja bostadsbidrag från och med mars i år."
    ws = words(*[(i * 0.3, i * 0.3 + 0.25, w) for i, w in enumerate(text.split())])
    cues = subtitle_cues(transcript(segment(0, ws)))
    assert cues[0].text.endswith("noga,") or any(line.endswith("noga,") for line in cues[0].lines)


def test_one_word_at_the_end_of_a_sentence_joins_its_sentence():
    # The old cutter left "mars." alone on screen for 0.3 s.
    spec = ["Vi", "beslutar", "att", "bevilja", "bostadsbidraget", "till", "dig", "från", "och", "med", "den", "första", "mars."]
    ws = words(*[(i * 0.45, i * 0.45 + 0.3, w) for i, w in enumerate(spec)], (20.0, 21.0, "Tack."))
    cues = subtitle_cues(transcript(segment(0, ws[:-1]), segment(1, ws[-1:]), duration_s=22.0))
    assert all(len(c.words) > 1 or c.text == "Tack." for c in cues)
    assert cues[-2].text.endswith("första mars.")


def test_the_speaker_label_counts_on_the_first_line():
    t = Transcript(
        language="sv",
        language_probability=1.0,
        duration_s=10.0,
        segments=(
            Segment(0, 0.0, 4.0, "Det här är en mening som är precis lagom lång för att synas.", (), -0.1, 0.0, "Talare 12"),
        ),
        model=MODEL,
        diarization_model="test",
    )
    for cue in subtitle_cues(t):
        assert cue.lines[0].startswith("Talare 12: ")
        assert all(len(line) <= 42 for line in cue.lines)


def test_segments_stored_without_words_are_cut_between_their_words():
    t = transcript(Segment(0, 0.0, 12.0, " ".join(["ordet"] * 30), (), -0.1, 0.0), duration_s=12.0)
    cues = subtitle_cues(t)
    assert " ".join(c.text for c in cues) == " ".join(["ordet"] * 30)
    assert all(set(line.split()) == {"ordet"} for c in cues for line in c.lines)


def test_the_vtt_voice_replaces_the_label_the_lines_were_measured_with():
    t = Transcript(
        language="sv",
        language_probability=1.0,
        duration_s=3.0,
        segments=(Segment(0, 0.0, 2.0, "Hej <alla>.", (), -0.1, 0.0, "Talare 1"),),
        model=MODEL,
        diarization_model="test",
    )
    assert render(t, "vtt").endswith("<v Talare 1>Hej &lt;alla&gt;.\n")
    assert render(t, "srt").endswith("Talare 1: Hej <alla>.\n")


# -- goldens on real speech ------------------------------------------------------------------

CLIPS = sorted(p.name.removesuffix(".transcript.json") for p in GOLDEN.glob("*.transcript.json"))


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("fmt", ["srt", "vtt", "txt"])
def test_golden_on_real_speech(clip, fmt):
    t = transcript_from_json((GOLDEN / f"{clip}.transcript.json").read_text(encoding="utf-8"))
    rendered = render(t, fmt)
    golden = GOLDEN / f"{clip}.{fmt}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")
    check_rules(t, subtitle_cues(t), SubtitleOptions())


def test_the_goldens_are_the_real_clips():
    assert len(CLIPS) >= 3
    fixtures = Path(__file__).resolve().parents[2] / "audio_fixtures" / "real_speech"
    assert all((fixtures / f"{clip}.flac").is_file() for clip in CLIPS)


def test_tokens_of_a_real_clip_are_its_words():
    t = transcript_from_json((GOLDEN / f"{CLIPS[0]}.transcript.json").read_text(encoding="utf-8"))
    assert [tok.word for tok in tokens(t)] == list(t.words)
