"""Personal data in transcripts: find it, and replace it with placeholders before anything
leaves the worker.

Pure functions over the frozen transcript types (workers/transcript/types.py), no model:
`find_entities(transcript)` gives typed spans over words, `redact_transcript(transcript)` a
new Transcript whose words of each span are one placeholder word ("[PERSONNUMMER]") with the
span's timing. See docs/redaction.md for what is recognised and its limits.

Why not Presidio's analyzer (which has Swedish personnummer and organisationsnummer
recognisers): it requires spaCy and an NLP model, and no Swedish one installs from the package
registry; its Swedish recognisers read written digits only, drop numbers with a wrong check
digit (redacted here as possible ones) and give character offsets, where a transcript needs
timed words; spoken numbers, e-mail addresses and names would be written here all the same.
What it would add, phonenumbers and checksums, is used directly (phonenumbers, python-stdnum).
"""
