"""Documents for people made from a transcript and, when there is one, its summary (DOCX)."""
