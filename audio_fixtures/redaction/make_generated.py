"""Writes generated.txt: synthetic labelled sentences for the redaction scorer (seeded, so the
file only changes when this script does). Values are random but well formed (valid dates,
Luhn check digits, numbers libphonenumber holds valid), some deliberately with a wrong check
digit; spoken forms are written the way a transcript shows read-out numbers.

    python audio_fixtures/redaction/make_generated.py

Markup: [[TYPE value words]] marks an entity; everything else is not personal data.
"""

from __future__ import annotations

import random
from pathlib import Path

from stdnum import luhn

OUT = Path(__file__).with_name("generated.txt")
UNITS = ["noll", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio"]
TEENS = ["tio", "elva", "tolv", "tretton", "fjorton", "femton", "sexton", "sjutton", "arton", "nitton"]
TENS = {2: "tjugo", 3: "trettio", 4: "fyrtio", 5: "femtio", 6: "sextio", 7: "sjuttio", 8: "åttio", 9: "nittio"}

GIVEN = [
    "Anna",
    "Maria",
    "Karin",
    "Erik",
    "Lars",
    "Johan",
    "Fatima",
    "Ahmed",
    "Sofia",
    "Mikael",
    "Eva",
    "Kerstin",
    "Anders",
    "Per-Olof",
    "Ulla",
    "Mohammed",
    "Elsa",
    "Nils",
    "Ingrid",
    "Hassan",
    "Lena",
    "Jonas",
    "Malin",
    "Sven",
    "Astrid",
]
SURNAMES = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Lindberg",
    "Ali",
    "Hassan",
    "Lundqvist",
    "Sjöberg",
    "Ekström",
    "Nyberg",
    "Holmgren",
    "Mohamed",
]
# Not in the name lists: found only through cues.
RARE_NAMES = [
    "Zlatan",
    "Tuulikki-Marja",
    "Gyllenhammar",
    "Wrangel",
    "Oxenstierna",
    "Kowalczyk",
    "Nguyen-Tran",
    "Dzeko",
    "Amadou",
    "Rasmus",
]
STREETS = [
    "Storgatan",
    "Kungsgatan",
    "Drottninggatan",
    "Vasavägen",
    "Björkvägen",
    "Ringvägen",
    "Skolgatan",
    "Järnvägsgatan",
    "Ekbacksvägen",
    "Tallstigen",
    "Kyrkogatan",
    "Parkgatan",
    "Norra Långgatan",
    "Stora Torget",
]
TOWNS = ["Stockholm", "Göteborg", "Malmö", "Umeå", "Luleå", "Växjö", "Kiruna", "Upplands Väsby", "Falun", "Östersund"]


def say(n: int) -> str:
    """0-99 as said in Swedish."""
    if n < 10:
        return UNITS[n]
    if n < 20:
        return TEENS[n - 10]
    tens, unit = divmod(n, 10)
    return TENS[tens] + (UNITS[unit] if unit else "")


def digits_spoken(digits: str) -> str:
    return " ".join(UNITS[int(d)] for d in digits)


def pairs_spoken(digits: str) -> str:
    """Two digits at a time, a leading zero said alone: "03" -> "noll tre"."""
    out = []
    for k in range(0, len(digits), 2):
        pair = digits[k : k + 2]
        out.append(digits_spoken(pair) if pair[0] == "0" or len(pair) == 1 else say(int(pair)))
    return " ".join(out)


def personnummer(rng: random.Random, coordination: bool = False, right: bool = True) -> tuple[int, str]:
    """(year, 10 digits)."""
    year = rng.randint(1935, 2015)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    body = f"{year % 100:02d}{month:02d}{day + (60 if coordination else 0):02d}{rng.randint(0, 999):03d}"
    check = int(luhn.calc_check_digit(body))
    if not right:
        check = (check + rng.randint(1, 9)) % 10
    return year, body + str(check)


def pnr_forms(rng: random.Random, year: int, pnr: str) -> list[tuple[str, str]]:
    """(form, text) for one number."""
    century = str(year)[:2]
    birth, tail = pnr[:6], pnr[6:]
    return [
        ("written", f"{century}{birth}-{tail}"),
        ("written", f"{birth}-{tail}"),
        ("written", f"{century}{pnr}"),
        ("written", f"{birth} {tail}"),
        ("spoken", f"{say(int(century))} {say(int(birth[:2]))} {pairs_spoken(birth[2:])}, {digits_spoken(tail)}"),
        ("spoken", f"{digits_spoken(birth)} {digits_spoken(tail)}"),
        ("spoken", f"{pairs_spoken(birth)} streck {pairs_spoken(tail)}"),
    ]


PNR_TEMPLATES = [
    "Mitt personnummer är [[{t} {v}]] och jag ringer om mitt ärende.",
    "Klienten uppger personnummer [[{t} {v}]] vid besöket.",
    "Kan du bekräfta ditt personnummer? Ja, det är [[{t} {v}]].",
    "Han är född [[{t} {v}]] enligt folkbokföringen.",
    "Barnets personnummer är [[{t} {v}]], vi har det i akten.",
    "Jag läser upp det: [[{t} {v}]].",
    "Sökandens personnummer [[{t} {v}]] stämmer inte med ansökan.",
]
PHONE_TEMPLATES = [
    "Du kan ringa mig på [[TELEFON {v}]] efter klockan fyra.",
    "Mitt mobilnummer är [[TELEFON {v}]].",
    "Handläggaren nås på telefon [[TELEFON {v}]] vardagar.",
    "Skicka ett sms till [[TELEFON {v}]] så ringer jag upp.",
    "Numret till mamman är [[TELEFON {v}]], hon svarar oftast.",
]
EMAIL_TEMPLATES = [
    "Min mejladress är [[E-POST {v}]].",
    "Skicka beslutet till [[E-POST {v}]] så läser jag det.",
    "Du når mig på [[E-POST {v}]] om något är oklart.",
]
NAME_TEMPLATES = [
    "Jag heter [[NAMN {g} {s}]] och ringer om min son.",
    "Min handläggare heter [[NAMN {g}]] och hon har inte hört av sig.",
    "Min man [[NAMN {g}]] har varit sjukskriven sedan i våras.",
    "Mötet leddes av [[NAMN {g} {s}]] från socialtjänsten.",
    "Kontaktperson är [[NAMN {g} {s}]] på skolan.",
    "Det var [[NAMN {g}]] som ringde i morse.",
    "Dottern [[NAMN {g}]] går i årskurs fyra.",
    "Vi pratade med [[NAMN {g} {s}]] och [[NAMN {g2}]] om boendet.",
]
RARE_NAME_TEMPLATES = [
    "Jag heter [[NAMN {r}]] och jag bor här sedan två år.",
    "Min sambo heter [[NAMN {r}]].",
    "Handläggare [[NAMN {g} {r}]] tar över ärendet.",
]
NEGATIVES = [
    "Ärendet har diarienummer dnr {y}-{n4} och gäller bistånd.",
    "Mötet börjar klockan {h}.{m:02d} den {d} mars {y}.",
    "Hyran är {k} {t:03d} kronor i månaden.",
    "Beslutet fattades {y}-{mo:02d}-{d:02d} av nämnden.",
    "Hon flyttade hit år {y} och bor i lägenhet på tredje våningen.",
    "Vi ses klockan {say_h} och {say_m} på torsdag.",
    "Det gäller mål nummer {n4}-{yy} i förvaltningsrätten.",
    "Ersättningen blev {say_k} tusen kronor.",
    "Han hade sett en björn i skogen och blev rädd.",
    "Hon hade en rosa jacka och inga vantar.",
    "Det finns inga pengar kvar på kontot, sa hon.",
    "Lägenheten har {n} rum och kök, hyresnivån är rimlig.",
    "Enligt paragraf {n} i socialtjänstlagen har du rätt till bistånd.",
    "Betalningen på {k} {t:03d} kronor gick igenom den {d} {month}.",
    "Stigen till skolan är mörk på vintern.",
    "Barnen är {n} och {n2} år gamla.",
]


def main() -> None:
    rng = random.Random(20261202)
    lines: list[str] = []
    for k in range(60):
        coordination = k % 10 == 9
        right = k % 12 != 11
        year, pnr = personnummer(rng, coordination, right)
        form, text = rng.choice(pnr_forms(rng, year, pnr)) if k >= 7 else pnr_forms(rng, year, pnr)[k]
        kind = "SAMORDNINGSNUMMER" if coordination else "PERSONNUMMER"
        template = PNR_TEMPLATES[k % len(PNR_TEMPLATES)]
        if coordination:
            template = template.replace("personnummer", "samordningsnummer")
        lines.append(template.format(t=kind, v=text))
    phones = [
        ("070-{a} {b:02d} {c:02d}", "070{a}{b:02d}{c:02d}"),
        ("073{a}{b:02d}{c:02d}", None),
        ("08-{a} {b:02d} {c:02d}", None),
        ("031-{a}{b:02d}{c:02d}", None),
        ("+46 70 {a} {b:02d} {c:02d}", None),
        ("+47 412 34 567", None),
        ("+358 40 {a} {b:02d}{c:02d}", None),
    ]
    for k in range(40):
        a, b, c = rng.randint(100, 999), rng.randint(10, 99), rng.randint(10, 99)
        if k % 3 == 2:
            # Said: area code digit by digit, the rest in groups.
            value = f"noll sju {UNITS[rng.choice((0, 2, 3, 6))]}, {digits_spoken(str(a))}, {say(b)}, {say(c)}"
        elif k % 5 == 4:
            value = f"plus fyrtiosex sjuttio {digits_spoken(str(a))} {say(b)} {say(c)}"
        else:
            value = phones[k % len(phones)][0].format(a=a, b=b, c=c)
        lines.append(PHONE_TEMPLATES[k % len(PHONE_TEMPLATES)].format(v=value))
    domains = ["exempel.se", "kommun.se", "gmail.com", "hotmail.com", "telia.com"]
    for k in range(22):
        g, s = rng.choice(GIVEN).lower().replace("-", ""), rng.choice(SURNAMES).lower()
        user, domain = rng.choice(domains).split(".")
        value = f"{g} punkt {s} snabel-a {user} punkt {domain}" if k % 2 else f"{g}.{s}@{user}.{domain}"
        lines.append(EMAIL_TEMPLATES[k % len(EMAIL_TEMPLATES)].format(v=value))
    for k in range(40):
        template = NAME_TEMPLATES[k % len(NAME_TEMPLATES)]
        lines.append(template.format(g=rng.choice(GIVEN), s=rng.choice(SURNAMES), g2=rng.choice(GIVEN)))
    for k in range(12):
        template = RARE_NAME_TEMPLATES[k % len(RARE_NAME_TEMPLATES)]
        lines.append(template.format(g=rng.choice(GIVEN), r=rng.choice(RARE_NAMES)))
    for k in range(12):
        street, town = rng.choice(STREETS), rng.choice(TOWNS)
        post = f"{rng.randint(100, 989)} {rng.randint(10, 99)}"
        if k % 2:
            lines.append(f"Jag bor på [[ADRESS {street} {rng.randint(1, 80)}]], [[ADRESS {post} {town}]].")
        else:
            lines.append(f"Hennes nya adress är [[ADRESS {street} {rng.randint(1, 80)} B]] sedan i somras.")
    for _ in range(8):
        letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUWXYZ") for _ in range(3))
        tail = f"{rng.randint(10, 99)}{rng.choice('0123456789ACDEFGHJK')}"
        lines.append(f"Bilen med registreringsnummer [[REGISTRERINGSNUMMER {letters} {tail}]] stod utanför.")
    for _ in range(6):
        body = f"{rng.randint(2, 9)}{rng.randint(20, 99)}{rng.randint(0, 999999):06d}"
        org = body + luhn.calc_check_digit(body)
        lines.append(f"Arbetsgivarens organisationsnummer är [[ORGANISATIONSNUMMER {org[:6]}-{org[6:]}]].")
    for _ in range(4):
        body = "4" + "".join(str(rng.randint(0, 9)) for _ in range(14))
        card = body + luhn.calc_check_digit(body)
        groups = " ".join(card[i : i + 4] for i in range(0, 16, 4))
        lines.append(f"Hon läste upp kortnumret [[BANKKORT {groups}]] i telefon.")
    for _ in range(4):
        body = f"{rng.randint(100, 9999)}{rng.randint(100, 999)}"
        bg = body + luhn.calc_check_digit(body)
        lines.append(f"Betala till bankgiro [[BANKGIRO {bg[:-4]}-{bg[-4:]}]] senast fredag.")
    for _ in range(3):
        body = f"{rng.randint(1000, 999999)}"
        pg = body + luhn.calc_check_digit(body)
        lines.append(f"Insättningen görs på plusgiro [[PLUSGIRO {pg[:-1]}-{pg[-1]}]].")
    for value in ("SE45 5000 0000 0583 9825 7466", "SE35 5000 0000 0549 1000 0003", "DE89 3704 0044 0532 0130 00"):
        lines.append(f"Utbetalningen går till IBAN [[IBAN {value}]] enligt blanketten.")
    months = [
        "januari",
        "februari",
        "mars",
        "april",
        "maj",
        "juni",
        "juli",
        "augusti",
        "september",
        "oktober",
        "november",
        "december",
    ]
    for k in range(40):
        y = rng.randint(1990, 2026)
        values = {
            "y": y,
            "yy": y % 100,
            "n4": rng.randint(1000, 9999),
            "h": rng.randint(7, 20),
            "m": rng.choice((0, 15, 30, 45)),
            "d": rng.randint(1, 28),
            "mo": rng.randint(1, 12),
            "k": rng.randint(2, 99),
            "t": rng.randint(0, 999),
            "n": rng.randint(2, 12),
            "n2": rng.randint(2, 17),
            "say_h": say(rng.randint(7, 12)),
            "say_m": say(rng.choice((15, 30, 45))),
            "say_k": say(rng.randint(2, 99)),
            "month": rng.choice(months),
        }
        lines.append(NEGATIVES[k % len(NEGATIVES)].format(**values))
    OUT.write_text(
        "# Synthetic labelled sentences, written by make_generated.py (seeded); do not edit by hand.\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
