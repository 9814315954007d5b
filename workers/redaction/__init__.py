"""Personal data in transcripts: find it, and replace it with placeholders before anything
leaves the worker.

Pure functions over the frozen transcript types (workers/transcript/types.py), no model:
`find_entities(transcript)` gives typed spans over words, `redact_transcript(transcript)` a
new Transcript whose words of each span are one placeholder word ("[PERSONNUMMER]") with the
span's timing. See docs/redaction.md for what is recognised and its limits.
"""
