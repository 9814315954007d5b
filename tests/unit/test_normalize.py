import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from num2words import num2words

from workers.evaluation.normalize import ABBREVIATIONS, normalize_swedish, swedish_number
from workers.evaluation.scoring import error_rates


def same(a: str, b: str) -> None:
    """a and b score as the same words."""
    assert normalize_swedish(a) == normalize_swedish(b), (a, b)


def differ(a: str, b: str) -> None:
    assert normalize_swedish(a) != normalize_swedish(b), (a, b)


# --- 1. Unicode, case, punctuation, whitespace ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Har du sett våra rara barnbarn!", "har du sett våra rara barnbarn"),
        ("ÅÄÖ åäö", "åäö åäö"),
        ("Café Müller och René", "café müller och rené"),
        ("  Hej,\tdå…  ", "hej då"),
        ("”Ja”, sa hon. »Nej» – eller — kanske…", "ja sa hon nej eller kanske"),
        ("e-post: (test) [x] {y} 'z' \"w\" ; ? !", "e post test x y z w"),
        ("snake_case", "snake case"),
        ("Ｆｕｌｌ ｗｉｄｔｈ １２", "full width 12"),
        ("hej\u00a0då\u2009nu", "hej då nu"),
        ("", ""),
        (" .,;: ", ""),
    ],
)
def test_unicode_case_punctuation(raw, normalized):
    assert normalize_swedish(raw) == normalized


@pytest.mark.parametrize(("kept", "stripped"), [("får", "far"), ("för", "for"), ("är", "ar"), ("café", "cafe")])
def test_marks_are_never_stripped(kept, stripped):
    differ(kept, stripped)


def test_decomposed_and_precomposed_letters_are_equal():
    same("a\u030angström", "ångström")


# --- 2. Numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "number"),
    [
        (["noll"], "0"),
        (["två"], "2"),
        (["fjorton"], "14"),
        (["tjugo"], "20"),
        (["tjugoett"], "21"),
        (["tjugoen"], "21"),
        (["fyrtiofem"], "45"),
        (["förtiofem"], "45"),
        (["femtitre"], "53"),
        (["hundra"], "100"),
        (["etthundra"], "100"),
        (["hundrafem"], "105"),
        (["tvåhundrafyrtiotvå"], "242"),
        (["tusen"], "1000"),
        (["ettusen"], "1000"),
        (["etttusen"], "1000"),
        (["tolvhundra"], "1200"),
        (["nittonhundraåttiofem"], "1985"),
        (["tjugohundratjugosex"], "2026"),
        (["tvåtusentjugosex"], "2026"),
        (["femhundratusen"], "500000"),
        (["fyrtio", "fem"], "45"),
        (["tre", "hundra"], "300"),
        (["ett", "hundra"], "100"),
        (["två", "tusen", "tjugosex"], "2026"),
        (["nitton", "hundra", "åttiofem"], "1985"),
        (["etttusen", "niohundraåttiofem"], "1985"),
        (["två", "tusen", "nio", "hundra", "åttio", "fem"], "2985"),
        (["första"], "1e"),
        (["andra"], "2e"),
        (["tredje"], "3e"),
        (["tjugoförsta"], "21e"),
        (["trettionde"], "30e"),
        (["hundrade"], "100e"),
    ],
)
def test_swedish_number(words, number):
    assert swedish_number(words) == number


@pytest.mark.parametrize(
    "words",
    [
        ["en"],
        ["ett"],
        ["fem", "sex"],
        ["fjorton", "trettio"],
        ["tjugo", "tjugo"],
        ["noll", "fem"],
        ["hundra", "hundra"],
        ["tjugo", "andra"],  # "20 other ...", not "22nd"
        ["tredjefem"],
        ["treen"],
        ["femma"],
        ["hundratals"],
        ["miljon"],
        [],
    ],
)
def test_not_one_number(words):
    assert swedish_number(words) is None


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("fem sex sju", "5 6 7"),
        ("fyrtio fem", "45"),
        ("fyrtio, fem", "40 5"),
        ("fjorton trettio", "14 30"),
        ("tjugo andra länder", "20 2e länder"),
        ("ett två tre", "en 2 3"),
        ("två miljoner", "2 miljoner"),
        ("10 000 kronor", "10000 kronor"),
        ("1 250 000", "1250000"),
        ("2024 300", "2024 300"),
        ("2,5", "2 komma 5"),
        ("1,2,3", "en 2 3"),
        ("14.30", "14 30"),
        ("14:30", "14 30"),
        ("14.00", "14"),
        ("09.05", "9 5"),
        ("3.12.2024", "3 12 2024"),
        ("50 %", "50 procent"),
        ("50%", "50 procent"),
    ],
)
def test_numbers(raw, normalized):
    assert normalize_swedish(raw) == normalized


@pytest.mark.parametrize(
    ("digits", "words"),
    [
        ("14", "fjorton"),
        ("21", "tjugoett"),
        ("45", "fyrtio fem"),
        ("100", "hundra"),
        ("100", "ett hundra"),
        ("1985", "nittonhundraåttiofem"),
        ("1985", "etttusen niohundraåttiofem"),
        ("2026", "tjugohundratjugosex"),
        ("2026", "tvåtusentjugosex"),
        ("2026", "två tusen tjugosex"),
        ("10 000", "tiotusen"),
        ("Testar 1, 2, 3", "testar en två tre"),
        ("1 bil och 1 hus", "en bil och ett hus"),
        ("3:e", "tredje"),
        ("3e", "tredje"),
        ("1:a", "första"),
        ("2:a", "andra"),
        ("21:a", "tjugoförsta"),
        ("2,5", "två komma fem"),
        ("14.30", "fjorton trettio"),
        ("kl. 9.15", "klockan nio femton"),
        ("50 %", "femtio procent"),
        ("2 miljoner", "två miljoner"),
    ],
)
def test_digits_and_words_are_equal(digits, words):
    same(digits, words)


@pytest.mark.parametrize("n", [*range(0, 2101), 9999, 10000, 12345, 99999, 100001, 123456, 999999])
def test_num2words_spelling_reads_back_to_the_digits(n):
    same(str(n), num2words(n, lang="sv"))


@pytest.mark.parametrize(("ordinal", "value"), [(1, "1e"), (2, "2e"), (3, "3e"), (12, "12e"), (19, "19e"), (21, "21e")])
def test_num2words_ordinals(ordinal, value):
    assert normalize_swedish(num2words(ordinal, lang="sv", to="ordinal")) == value


def test_en_and_ett_are_one_word():
    same("ett", "en")
    same("1", "ett")
    assert normalize_swedish("en katt och ett hus") == "en katt och en hus"


def test_numbers_that_differ_still_differ():
    differ("fem sex sju", "567")
    differ("14", "fyrtio")
    differ("tredje", "3")


# --- 3. Abbreviations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("t.ex. detta", "till exempel detta"),
        ("t. ex. detta", "till exempel detta"),
        ("t.ex detta", "till exempel detta"),
        ("bl.a. det", "bland annat det"),
        ("ca 5", "cirka 5"),
        ("ca. 5", "cirka 5"),
        ("c:a 5", "cirka 5"),
        ("kl. 9", "klockan 9"),
        ("kl 9", "klockan 9"),
        ("s.k. experter", "så kallad experter"),
        ("d.v.s. nu", "det vill säga nu"),
        ("dvs nu", "det vill säga nu"),
        ("dvs. nu", "det vill säga nu"),
        ("o.s.v.", "och så vidare"),
        ("osv.", "och så vidare"),
        ("m.m.", "med mera"),
        ("m.fl.", "med flera"),
        ("t.o.m. fredag", "till och med fredag"),
        ("fr.o.m. måndag", "från och med måndag"),
        ("p.g.a. regn", "på grund av regn"),
        ("pga regn", "på grund av regn"),
        ("f.d. chef", "före detta chef"),
        ("nr 5", "nummer 5"),
        ("nr. 5", "nummer 5"),
        ("5 st. äpplen", "5 stycken äpplen"),
        ("5 st äpplen", "5 st äpplen"),
        ("tel. 123", "telefon 123"),
        ("100 kr", "100 kronor"),
        ("inkl. moms", "inklusive moms"),
        ("exkl moms", "exklusive moms"),
        ("§ 3", "paragraf 3"),
        ("§3", "paragraf 3"),
        ("H&M", "h och m"),
        ("Tåget går kl 14", "tåget går klockan 14"),
        ("T.EX. så", "till exempel så"),
        # Only whole words: no expansion inside words.
        ("kläder caffe nrk", "kläder caffe nrk"),
    ],
)
def test_abbreviations(raw, normalized):
    assert normalize_swedish(raw) == normalized


@pytest.mark.parametrize("form", sorted(ABBREVIATIONS))
def test_every_abbreviation_is_expanded(form):
    assert normalize_swedish(f"x {form} y") == normalize_swedish(f"x {ABBREVIATIONS[form]} y")


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("3 feb.", "3 februari"),
        ("i feb. och mar.", "i februari och mars"),
        ("sept. okt. nov. dec.", "september oktober november december"),
        ("den 3:e jan.", "den 3e januari"),
        ("24 jul.", "24 juli"),
        ("Hej Jan.", "hej jan"),
        ("God jul.", "god jul"),
        ("feb utan punkt", "feb utan punkt"),
    ],
)
def test_month_abbreviations(raw, normalized):
    assert normalize_swedish(raw) == normalized


# --- 4. Hesitations ------------------------------------------------------------------------


@pytest.mark.parametrize("sound", ["eh", "öh", "äh", "hm", "hmm", "mm", "mhm", "ehm", "öhm", "eee", "Ehh", "hmmm", "Mmm"])
def test_hesitations_are_dropped(sound):
    assert normalize_swedish(f"jag {sound}, tror det") == "jag tror det"
    same(f"jag {sound} tror det", "jag tror det")


@pytest.mark.parametrize("word", ["hemma", "öm", "meh", "hem", "e", "ä", "ö", "m", "mamma", "ehmen"])
def test_words_containing_hesitation_sounds_are_kept(word):
    assert normalize_swedish(f"x {word} y") == f"x {word} y"


def test_hesitation_between_number_words():
    assert normalize_swedish("tjugo eh fem") == "25"


# --- 5. Idempotence ------------------------------------------------------------------------

_VOCABULARY = [
    *[
        "en",
        "ett",
        "två",
        "tre",
        "fem",
        "sex",
        "sju",
        "åtta",
        "nio",
        "tio",
        "tolv",
        "fjorton",
        "tjugo",
        "tjugoett",
        "fyrtio",
        "hundra",
        "tusen",
    ],
    *["etthundra", "nittonhundraåttiofem", "tvåtusentjugosex", "noll", "första", "andra", "tredje", "tjugoförsta"],
    *[
        "jag",
        "du",
        "hon",
        "är",
        "och",
        "det",
        "mötet",
        "mars",
        "jan",
        "jul",
        "feb",
        "kronor",
        "hemma",
        "öm",
        "Åsa",
        "Müller",
        "café",
    ],
    *["eh", "öh", "hm", "hmm", "mm", "mhm", "eee"],
    *[
        "1",
        "2",
        "3",
        "14",
        "21",
        "100",
        "000",
        "250",
        "1985",
        "2026",
        "09",
        "3:e",
        "1:a",
        "3e",
        "14.30",
        "14:30",
        "9.05",
        "2,5",
        "1,2,3",
        "10",
        "50%",
        "§",
    ],
    *sorted(ABBREVIATIONS),
    *["kl.", "t.ex.", "st.", "jan.", "feb.", "c:a"],
    *[".", ",", ":", ";", "!", "?", "–", "—", "…", "”", "»", "(", ")", "-", "_", "&", "%"],
]
_SEPARATORS = ["", " ", " ", " ", ", ", ". ", ".", ":", "\u00a0", " – ", "\n"]


@pytest.mark.parametrize("text", ["14.30ca", "fyrtio, fem", "fem, hundra", "1, 000", "ett, hundra", "3, jan.", "kl.14.30"])
def test_idempotent_on_known_hard_cases(text):
    once = normalize_swedish(text)
    assert normalize_swedish(once) == once


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_VOCABULARY), st.sampled_from(_SEPARATORS)), max_size=25))
def test_idempotent_on_swedish_like_text(pieces):
    text = "".join(word + sep for word, sep in pieces)
    once = normalize_swedish(text)
    assert normalize_swedish(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_idempotent_on_any_text(text):
    once = normalize_swedish(text)
    assert normalize_swedish(once) == once
    assert once == " ".join(once.split())


# --- 6. Speed ------------------------------------------------------------------------------


def test_thousands_of_sentences_are_fast():
    rng = random.Random(0)
    words = [w for w in _VOCABULARY if w.strip(".,:;!?–—…”»()-_&%")]
    sentences = [" ".join(rng.choices(words, k=15)) + "." for _ in range(3000)]
    start = time.perf_counter()
    for sentence in sentences:
        normalize_swedish(sentence)
    assert time.perf_counter() - start < 5.0


# --- Scoring -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "hypothesis"),
    [
        ("Testar en två tre fyra fem sex sju åtta.", "Testar 1, 2, 3, 4, 5, 6, 7, 8."),
        ("Mötet är kl. 14.30 den 3:e mars", "mötet är klockan fjorton trettio den tredje mars"),
        ("Vi är fem och är här", "Vi är 5 och är här."),
        ("Han föddes 1985, t.ex. i jan.", "Han föddes nittonhundraåttiofem till exempel i jan"),
        ("Det kostar ca 10 000 kr, dvs. mycket.", "det kostar cirka tiotusen kronor det vill säga mycket"),
        ("Räntan är 2,5 % i år", "eh räntan är två komma fem procent hm i år"),
        ("Enligt § 12 i lagen", "enligt paragraf tolv i lagen"),
    ],
)
def test_full_sentences_score_zero_wer(reference, hypothesis):
    assert error_rates([reference], [hypothesis]).wer == 0.0


def test_numbers_in_digits_and_words_score_equal():
    assert error_rates(["Vi är fem och är här"], ["Vi är 5 och är här."]).wer == 0.0


def test_error_rates_count_real_errors():
    rates = error_rates(["ett två tre fyra"], ["ett tre fyra fem"])
    assert rates.wer == 0.5 and rates.reference_words == 4 and 0 < rates.cer < 1


def test_a_wrong_number_is_one_error():
    assert error_rates(["Mötet är kl. 14.30"], ["mötet är klockan fjorton fyrtio"]).wer == 0.2  # "mötet är klockan 14 30"


def test_nothing_to_score_is_an_error():
    with pytest.raises(ValueError):
        error_rates([""], ["hej"])
    with pytest.raises(ValueError):
        error_rates(["eh, hm."], ["hej"])
