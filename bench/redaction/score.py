"""Recall and precision of the redaction recognisers on audio_fixtures/redaction, per entity
type, for docs/accuracy/redaction.md: one table per file and one for the whole set, then every
miss and wrong hit.

    python bench/redaction/score.py
"""

from __future__ import annotations

from pathlib import Path

from workers.evaluation.redaction import load_set, markdown_table, misses, score

SET_DIR = Path(__file__).resolve().parents[2] / "audio_fixtures" / "redaction"


def main() -> None:
    files = sorted(SET_DIR.glob("*.txt"))
    for path in files:
        sentences = load_set([path])
        negatives = sum(1 for s in sentences if not s.entities)
        print(f"## {path.name}: {len(sentences)} sentences, {negatives} without personal data\n")
        print(markdown_table(score(sentences)) + "\n")
    everything = load_set(files)
    print(f"## all: {len(everything)} sentences, {sum(1 for s in everything if not s.entities)} without personal data\n")
    print(markdown_table(score(everything)) + "\n")
    print("\n".join(misses(everything)))


if __name__ == "__main__":
    main()
