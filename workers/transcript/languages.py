"""Languages a job or the CLI may ask for.

Whisper's language codes, kept here as data so the HTTP API can validate a request without
importing faster-whisper (tests/unit/test_languages.py keeps the two in step).
"""

from __future__ import annotations

WHISPER_LANGUAGES = frozenset(
    {
        "af", "am", "ar", "as", "az", "ba", "be", "bg", "bn", "bo", "br", "bs", "ca", "cs", "cy", "da",
        "de", "el", "en", "es", "et", "eu", "fa", "fi", "fo", "fr", "gl", "gu", "ha", "haw", "he", "hi",
        "hr", "ht", "hu", "hy", "id", "is", "it", "ja", "jw", "ka", "kk", "km", "kn", "ko", "la", "lb",
        "ln", "lo", "lt", "lv", "mg", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "ne", "nl", "nn",
        "no", "oc", "pa", "pl", "ps", "pt", "ro", "ru", "sa", "sd", "si", "sk", "sl", "sn", "so", "sq",
        "sr", "su", "sv", "sw", "ta", "te", "tg", "th", "tk", "tl", "tr", "tt", "uk", "ur", "uz", "vi",
        "yi", "yo", "yue", "zh",
    }
)
AUTO = "auto"


def parse_language(value: str) -> str | None:
    """A language code, or None for auto-detection; ValueError for anything else."""
    value = value.strip().lower()
    if value == AUTO:
        return None
    if value not in WHISPER_LANGUAGES:
        raise ValueError(f"unknown language {value!r}: use a code Whisper knows (e.g. sv, en, fi) or 'auto'")
    return value
