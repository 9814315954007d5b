import json
import re

import pytest

from tests.transcripts import segment, transcript, words
from workers.transcript.formats import (
    FORMAT_TABLE,
    FORMATS,
    SCHEMA_VERSION,
    SubtitleOptions,
    formats_for,
    render,
    subtitle_cues,
    to_json,
    to_srt,
    to_text,
    to_vtt,
    transcript_from_json,
)

SAMPLE = transcript(
    segment(0, words((0.5, 0.9, "Hej"), (1.0, 1.4, "och"), (1.5, 2.25, "välkommen."))),
    segment(1, words((3661.0, 3661.5, "Målnummer"), (3661.6, 3662.0, "T"), (3662.1, 3662.9, "1234-26."))),
    duration_s=3700.0,
)


def test_json_is_versioned_and_round_trips():
    data = json.loads(render(SAMPLE, "json"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["model"] == {"id": "test-model", "revision": "r1", "device": "cpu", "compute_type": "int8"}
    assert data["segments"][0]["words"][2] == {
        "start_s": 1.5,
        "end_s": 2.25,
        "text": "välkommen.",
        "probability": 0.9,
        "speaker": None,
    }
    assert data["text"] == "Hej och välkommen. Målnummer T 1234-26."
    assert transcript_from_json(render(SAMPLE, "json")) == SAMPLE


def test_json_keeps_swedish_letters_readable():
    assert "välkommen" in render(SAMPLE, "json")


def test_unknown_schema_version_is_refused():
    data = json.loads(render(SAMPLE, "json"))
    data["schema_version"] = 99
    with pytest.raises(ValueError, match="schema_version"):
        transcript_from_json(json.dumps(data))


def test_text_has_a_time_per_paragraph_with_hours_in_a_recording_over_an_hour():
    assert to_text(SAMPLE) == "[0:00:00] Hej och välkommen.\n[1:01:01] Målnummer T 1234-26.\n"
    short = transcript(*SAMPLE.segments[:1], duration_s=65.0)
    assert to_text(short) == "[00:00] Hej och välkommen.\n"
    assert render(SAMPLE, "txt-plain") == "Hej och välkommen.\nMålnummer T 1234-26.\n"
    assert to_text(transcript()) == "" and render(transcript(), "txt-plain") == ""


def test_srt_numbering_and_timestamps():
    assert to_srt(SAMPLE) == (
        "1\n00:00:00,500 --> 00:00:02,250\nHej och välkommen.\n\n2\n01:01:01,000 --> 01:01:02,900\nMålnummer T 1234-26.\n"
    )


def test_a_short_last_cue_stays_up_a_second_when_the_silence_after_it_allows():
    t = transcript(segment(0, words((0.0, 0.3, "Ja."))), segment(1, words((5.0, 5.4, "Nej."))), duration_s=5.6)
    cues = subtitle_cues(t)
    assert [(c.start_s, c.end_s) for c in cues] == [(0.0, 1.0), (5.0, 5.6)]  # the recording ends at 5.6 s


def test_vtt_header_dots_and_escaping():
    tricky = transcript(segment(0, words((0, 1, "a"), (1, 2, "-->"), (2, 3, "<b>&"))))
    vtt = to_vtt(tricky)
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:03.000\n")
    assert "a --&gt; &lt;b&gt;&amp;" in vtt
    assert vtt.count("-->") == 1


def test_long_segments_are_cut_into_readable_cues():
    long = words(*[(i * 0.5, i * 0.5 + 0.4, f"ord{i:02d}") for i in range(60)])
    options = SubtitleOptions()
    cues = subtitle_cues(transcript(segment(0, long)))
    assert len(cues) > 1
    assert [w for c in cues for w in c.words] == list(long)
    for cue in cues:
        assert len(cue.lines) <= options.max_lines and all(len(line) <= options.max_line_chars for line in cue.lines)
        assert options.min_duration_s <= cue.end_s - cue.start_s <= options.max_duration_s


def test_subtitle_lines_follow_the_options():
    long = words(*[(i * 0.5, i * 0.5 + 0.4, f"ord{i:02d}") for i in range(30)])
    cues = subtitle_cues(transcript(segment(0, long)), SubtitleOptions(max_line_chars=20, max_lines=1))
    assert all(len(c.lines) == 1 and len(c.lines[0]) <= 20 for c in cues)
    with pytest.raises(ValueError, match="lines"):
        SubtitleOptions(max_lines=0)


def test_srt_cues_never_go_backwards():
    stamps = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d)", to_srt(SAMPLE))
    millis = [((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms) for h, m, s, ms in stamps]
    assert millis == sorted(millis)


def test_unknown_format_is_an_error():
    with pytest.raises(ValueError, match="unknown format"):
        render(SAMPLE, "pdf")
    with pytest.raises(ValueError, match="binary"):
        render(SAMPLE, "docx")


def test_the_format_table_names_each_format_once_with_its_file_ending():
    assert FORMATS == ("json", "txt", "txt-plain", "srt", "vtt", "rttm", "docx")
    assert FORMAT_TABLE["txt-plain"].suffix == ".plain.txt" and FORMAT_TABLE["docx"].binary
    assert len({f.suffix for f in FORMAT_TABLE.values()}) == len(FORMATS)


# --- diarized transcripts -----------------------------------------------------------------


def diarized():
    from workers.pipeline.diarize import Diarization
    from workers.pipeline.speakers import assign_speakers
    from workers.transcript.types import Speaker, SpeakerTurn

    t = transcript(
        segment(0, words((0.0, 0.5, "Hej,"), (0.6, 1.2, "välkommen."), (1.5, 1.8, "Tack."))),
        segment(1, words((2.0, 2.5, "Vi"), (2.6, 3.0, "börjar."))),
    )
    turns = (SpeakerTurn(0.0, 1.3, "Talare 1"), SpeakerTurn(1.3, 1.9, "Talare 2"), SpeakerTurn(1.9, 3.2, "Talare 1"))
    return assign_speakers(t, Diarization(turns, (Speaker("Talare 1", 2.6), Speaker("Talare 2", 0.6)), "pyannote-offline", 0.4))


def test_diarized_json_carries_speakers_everywhere_and_round_trips():
    t = diarized()
    data = json.loads(to_json(t))
    assert data["diarization_model"] == "pyannote-offline"
    assert data["speakers"] == [{"id": "Talare 1", "talk_time_s": 2.6}, {"id": "Talare 2", "talk_time_s": 0.6}]
    assert [s["speaker"] for s in data["segments"]] == ["Talare 1", "Talare 2", "Talare 1"]
    assert all(w["speaker"] == s["speaker"] for s in data["segments"] for w in s["words"])
    assert len(data["speaker_turns"]) == 3
    assert transcript_from_json(to_json(t)) == t


def test_diarized_text_names_the_speaker_once_per_change():
    assert (
        render(diarized(), "txt") == "[00:00] Talare 1: Hej, välkommen.\n[00:01] Talare 2: Tack.\n[00:02] Talare 1: Vi börjar.\n"
    )
    assert render(diarized(), "txt-plain") == "Talare 1: Hej, välkommen.\nTalare 2: Tack.\nTalare 1: Vi börjar.\n"


def test_diarized_subtitles_carry_the_speaker():
    srt, vtt = render(diarized(), "srt"), render(diarized(), "vtt")
    assert "Talare 2: Tack." in srt
    assert "<v Talare 2>Tack." in vtt and "<v Talare 1>Hej, välkommen." in vtt


def test_rttm_lists_the_turns_with_tokens_without_spaces():
    rttm = render(diarized(), "rttm", name="möte 12")
    lines = rttm.splitlines()
    assert lines[1] == "SPEAKER möte_12 1 1.300 0.600 <NA> <NA> Talare_2 <NA> <NA>"
    assert len(lines) == 3 and all(len(line.split()) == 10 for line in lines)


def test_rttm_needs_a_diarized_transcript():
    plain = transcript(segment(0, words((0.0, 0.5, "Hej"))))
    assert "rttm" not in formats_for(plain) and "rttm" in formats_for(diarized())
    with pytest.raises(ValueError, match="not diarized"):
        render(plain, "rttm")


def test_transcripts_stored_before_diarization_still_load():
    data = json.loads(to_json(transcript(segment(0, words((0.0, 0.5, "Hej"))))))
    for key in ("speakers", "speaker_turns", "diarization_model"):
        del data[key]
    loaded = transcript_from_json(json.dumps(data))
    assert loaded.speakers == () and loaded.diarization_model is None
