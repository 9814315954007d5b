import pytest

from workers.evaluation.normalize import normalize_swedish
from workers.evaluation.scoring import error_rates


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Har du sett våra rara barnbarn!", "har du sett våra rara barnbarn"),
        ("ÅÄÖ åäö", "åäö åäö"),
        ("Tåget går kl 14", "tåget går kl fjorton"),
        ("Testar 2, 3 – 8.", "testar två tre åtta"),
        ("  Hej,\tdå…  ", "hej då"),
    ],
)
def test_normalize(raw, normalized):
    assert normalize_swedish(raw) == normalized


def test_numbers_in_digits_and_words_score_equal():
    assert error_rates(["Vi är fem och är här"], ["Vi är 5 och är här."]).wer == 0.0


def test_error_rates_count_real_errors():
    rates = error_rates(["ett två tre fyra"], ["ett tre fyra fem"])
    assert rates.wer == 0.5 and rates.reference_words == 4 and 0 < rates.cer < 1


def test_nothing_to_score_is_an_error():
    with pytest.raises(ValueError):
        error_rates([""], ["hej"])
