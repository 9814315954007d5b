"""The summary as Markdown."""

from __future__ import annotations

from workers.summary.render import to_markdown
from workers.summary.schema import Summary


def summary(**changes) -> Summary:
    data = {
        "abstract": "Handläggaren beviljade bostadsbidrag.",
        "matter": "Bostadsbidrag.",
        "participants": [{"speaker": "Talare 1", "role": "handläggare"}, {"speaker": "Talare 2", "role": None}],
        "decisions": [
            {"text": "Bidrag beviljas från mars.", "citations": [{"segment_id": 2, "start_s": 3725.0, "end_s": 3730.0}]}
        ],
        "action_items": [
            {
                "text": "Skicka hyresavtal.",
                "owner": "Talare 2",
                "deadline": "15 april",
                "citations": [{"segment_id": 4, "start_s": 24.0, "end_s": 29.5}],
            }
        ],
        "open_questions": ["Påverkas bidraget om dottern flyttar?"],
        "model": "m",
        "chunks": 1,
        "dropped_ungrounded": 0,
        "usage": {},
    }
    return Summary.model_validate({**data, **changes})


def test_every_part_is_rendered_with_its_citations():
    md = to_markdown(summary(), "samtal.wav")
    assert md.startswith("# Sammanfattning: samtal.wav\n")
    for heading in ("## Ärende", "## Deltagare", "## Beslut", "## Åtgärder", "## Öppna frågor"):
        assert heading in md
    assert "- Bidrag beviljas från mars. ([1:02:05] segment 2)" in md
    assert "- Skicka hyresavtal. — ansvarig: Talare 2; senast: 15 april ([00:24] segment 4)" in md
    assert "- Talare 1: handläggare" in md and "- Talare 2\n" in md


def test_empty_parts_say_so():
    md = to_markdown(summary(decisions=[], action_items=[], open_questions=[], participants=[]))
    assert "- Inga beslut." in md and "- Inga åtgärder." in md and "- Inga öppna frågor." in md


def test_model_text_cannot_inject_markdown_structure():
    md = to_markdown(summary(abstract="rad ett\n# Rubrik <script>alert(1)</script> [länk](http://x)"))
    assert "\n# Rubrik" not in md and "<script>" not in md and " [länk](" not in md and "\\[länk\\]" in md
