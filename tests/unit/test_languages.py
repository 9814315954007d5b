import pytest
from faster_whisper.tokenizer import _LANGUAGE_CODES

from workers.transcript.languages import WHISPER_LANGUAGES, parse_language


def test_the_list_matches_faster_whisper():
    assert set(_LANGUAGE_CODES) == WHISPER_LANGUAGES


def test_parse_language():
    assert parse_language("sv") == "sv" and parse_language(" SV ") == "sv"
    assert parse_language("auto") is None
    with pytest.raises(ValueError, match="unknown language 'klingon'"):
        parse_language("klingon")


def test_every_language_has_its_whisper_name():
    from workers.transcript.languages import LANGUAGE_NAMES, WHISPER_LANGUAGES, language_name

    assert set(LANGUAGE_NAMES) == WHISPER_LANGUAGES
    assert language_name("sv") == "swedish" and language_name("xx") == "xx"
