"""From a transcript to its entities, and to a redacted copy of it.

Hits that overlap are settled by score, then length; neighbouring hits of one type become one span
("Anna" "Svensson" -> one [NAMN] over both words' time).
"""

from __future__ import annotations

from dataclasses import replace

from workers.redaction.entities import EntitySpan, EntityType, Hit
from workers.redaction.names import name_hits
from workers.redaction.recognizers import Recognizer, address_hits, email_hits, iban_hits, number_hits, plate_hits
from workers.redaction.spoken_numbers import normalise
from workers.transcript.types import RedactedEntity, Redaction, Segment, Transcript, Word, join_words

RECOGNIZERS: tuple[Recognizer, ...] = (number_hits, email_hits, iban_hits, plate_hits, address_hits)
METHOD = "swescribe-rules-1"
# Punctuation kept after a placeholder, so sentences still read as sentences.
_TRAILING = ".,;:!?"


def find_hits(words: list[str], known_names: frozenset[str] = frozenset()) -> list[Hit]:
    """Non-overlapping hits over a run of words (a sentence, or a whole transcript's words in
    order), in word order, neighbours of one type joined. `known_names`: name words
    (normalised) found elsewhere in the same transcript."""
    norms = [normalise(w) for w in words]
    candidates = [hit for recognize in RECOGNIZERS for hit in recognize(words, norms)]
    candidates += name_hits(words, norms, known_names)
    candidates.sort(key=lambda h: (-h.score, -(h.end - h.first), h.first))
    taken = [False] * len(words)
    chosen: list[Hit] = []
    for hit in candidates:
        if any(taken[hit.first : hit.end]):
            continue
        chosen.append(hit)
        for k in range(hit.first, hit.end):
            taken[k] = True
    chosen.sort(key=lambda h: h.first)
    merged: list[Hit] = []
    for hit in chosen:
        joinable = hit.type == EntityType.ADRESS or not _ends_clause(words[hit.first - 1])
        if merged and merged[-1].type == hit.type and merged[-1].end == hit.first and joinable:
            last = merged.pop()
            hit = Hit(last.first, hit.end, hit.type, max(last.score, hit.score))
        merged.append(hit)
    return merged


def known_names(runs: list[list[str]]) -> frozenset[str]:
    """The name words (normalised) found in any of these runs of words."""
    found = set()
    for words in runs:
        for hit in find_hits(words):
            if hit.type == EntityType.NAMN:
                found.update(normalise(w) for w in words[hit.first : hit.end])
    return frozenset(found)


def _ends_clause(word: str) -> bool:
    return word.rstrip()[-1:] in _TRAILING


def _segment_words(segment: Segment) -> tuple[Word, ...]:
    """A segment's words; one without word timings is split on spaces, each word spanning the
    segment, so that its text is redacted all the same."""
    if segment.words:
        return segment.words
    return tuple(Word(segment.start_s, segment.end_s, t, 1.0, segment.speaker) for t in segment.text.split())


def find_entities(transcript: Transcript) -> tuple[EntitySpan, ...]:
    """Entities of the whole transcript, in order.

    The recognisers read the transcript's words as one stream, because a segment boundary can
    fall inside a number read out slowly ("... noll tre tolv," | "tre tre ett noll."); a hit
    across segments becomes one span per segment. Two passes: the second knows every name the
    first found, so a name said once after a cue is caught where it is said without one.
    """
    flat = [
        (index, k, word) for index, segment in enumerate(transcript.segments) for k, word in enumerate(_segment_words(segment))
    ]
    texts = [word.text for _, _, word in flat]
    spans = []
    for hit in find_hits(texts, known_names([texts])):
        position = hit.first
        while position < hit.end:
            segment_index = flat[position][0]
            part_end = position
            while part_end < hit.end and flat[part_end][0] == segment_index:
                part_end += 1
            first_word, last_word = flat[position], flat[part_end - 1]
            spans.append(
                EntitySpan(hit.type, segment_index, first_word[1], last_word[1] + 1, first_word[2].start_s, last_word[2].end_s)
            )
            position = part_end
    return tuple(spans)


def _placeholder_word(words: tuple[Word, ...], kind: EntityType) -> Word:
    last = words[-1].text.rstrip()
    trailing = last[len(last.rstrip(_TRAILING)) :]
    return Word(
        start_s=words[0].start_s,
        end_s=words[-1].end_s,
        text=kind.placeholder + trailing,
        probability=min(w.probability for w in words),
        speaker=words[0].speaker,
    )


def redact_transcript(transcript: Transcript) -> Transcript:
    """A new transcript with each entity's words replaced by one placeholder word spanning
    their time; `redaction` lists the entities (type, segment, times), never their values."""
    spans = find_entities(transcript)
    by_segment: dict[int, list[EntitySpan]] = {}
    for span in spans:
        by_segment.setdefault(span.segment_index, []).append(span)
    segments = []
    for index, segment in enumerate(transcript.segments):
        if index not in by_segment:
            segments.append(segment)
            continue
        words = _segment_words(segment)
        new_words: list[Word] = []
        position = 0
        for span in by_segment[index]:
            new_words.extend(words[position : span.first_word])
            new_words.append(_placeholder_word(words[span.first_word : span.end_word], span.type))
            position = span.end_word
        new_words.extend(words[position:])
        text = join_words(tuple(new_words))
        kept = tuple(new_words) if segment.words else ()
        segments.append(replace(segment, words=kept, text=text))
    found = tuple(
        RedactedEntity(
            type=span.type.value,
            segment_id=transcript.segments[span.segment_index].id,
            start_s=span.start_s,
            end_s=span.end_s,
        )
        for span in spans
    )
    # Redacting a redacted transcript again keeps what the first pass replaced.
    earlier = transcript.redaction.entities if transcript.redaction else ()
    entities = tuple(sorted(earlier + found, key=lambda e: (e.start_s, e.end_s)))
    return replace(transcript, segments=tuple(segments), redaction=Redaction(method=METHOD, entities=entities))
