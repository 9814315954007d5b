"""Regenerates given_names.txt and surnames.txt from Faker's sv_SE person provider (MIT):
the 500 commonest Swedish female and male given names (Isof name statistics, 2023) and the 500
commonest surnames (Skatteverket, 2025); and places.txt, the towns of its sv_SE address
provider. Run with Faker installed (`pip install faker`):

    python workers/redaction/data/make_name_lists.py

The lists are committed, so redaction needs no Faker at run time.
"""

from __future__ import annotations

from pathlib import Path

HEADER = (
    "# {what}: Faker {version} sv_SE person provider (MIT License, https://github.com/joke2k/faker),\n"
    "# whose data comes from {source}. One name a line; regenerate with make_name_lists.py.\n"
)


def main() -> None:
    import faker
    from faker.providers.address.sv_SE import Provider as Places
    from faker.providers.person.sv_SE import Provider

    here = Path(__file__).parent
    given = sorted(set(Provider.first_names_female) | set(Provider.first_names_male))
    surnames = sorted(set(Provider.last_names))
    version = faker.VERSION
    (here / "given_names.txt").write_text(
        HEADER.format(what="Swedish given names", version=version, source="Isof, namnstatistik 2023 (top 500 each sex)")
        + "\n".join(given)
        + "\n",
        encoding="utf-8",
    )
    (here / "surnames.txt").write_text(
        HEADER.format(what="Swedish surnames", version=version, source="Skatteverket, de vanligaste efternamnen 2025 (top 500)")
        + "\n".join(surnames)
        + "\n",
        encoding="utf-8",
    )
    (here / "places.txt").write_text(
        f"# Swedish towns: Faker {version} sv_SE address provider (MIT License, https://github.com/joke2k/faker),\n"
        "# the cities it names. Not names of persons unless a cue says so. One a line.\n"
        + "\n".join(sorted(set(Places.cities)))
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
