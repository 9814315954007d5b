"""Writes speech/*.flac: SYNTHETIC speech (espeak-ng's Swedish voice, not a human recording)
that says a personnummer and a phone number, for the end-to-end redaction test
(tests/integration/test_redaction_e2e.py). Needs the Debian packages espeak-ng and sox:

    python audio_fixtures/redaction/make_speech.py

The texts, and the numbers in them, are made up; the personnummer has a right check digit.
speech/manifest.jsonl records each clip's text, generator and the values it says.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent / "speech"
_PAUSE = '<break time="250ms"/>'


def _digits(number: str) -> str:
    """Digit by digit with a short pause between, as a number is read out on the phone."""
    return f" {_PAUSE} ".join(number)


# 8503123310 is a valid personnummer (date and Luhn); 0701234567 a valid Swedish mobile number.
CLIPS = {
    "pnr_telefon": {
        "ssml": f"<speak>Jag heter Anna Svensson. {_PAUSE} Personnumret är {_PAUSE} {_digits('8503123310')}. "
        f"{_PAUSE} Ring mig på {_PAUSE} {_digits('0701234567')}. Tack.</speak>",
        "values": {"PERSONNUMMER": "850312-3310", "TELEFON": "070-123 45 67", "NAMN": "Anna Svensson"},
    },
}
# espeak-ng's Swedish voice with the f3 variant at 120 words a minute: of the voices and speeds
# tried, the one whose digits the offline model (whisper-base-offline) recognises best, which
# is still badly (see tests/integration/test_redaction_e2e.py). Then the same sox chain as the
# other synthetic fixtures' clean condition (make_fixtures.py).
VOICE, SPEED_WPM = "sv+f3", 120
CHAIN = "gain -6 rate -v 16k gain -n -3 pad 0.3 0.3"
OUT_FORMAT = ["-r", "16000", "-c", "1", "-b", "16", "-C", "8", "--comment", ""]


def main() -> None:
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    HERE.mkdir(exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, clip in CLIPS.items():
            tts = Path(tmp) / f"{name}.wav"
            command = ["espeak-ng", "-m", "-b", "1", "-v", VOICE, "-s", str(SPEED_WPM), "-w", str(tts), clip["ssml"]]
            subprocess.run(command, check=True, env=env)
            out = HERE / f"{name}.flac"
            subprocess.run(["sox", "-R", "-D", str(tts), *OUT_FORMAT, str(out), *CHAIN.split()], check=True, env=env)
            rows.append(
                {
                    "id": name,
                    "file": out.name,
                    "ssml": clip["ssml"],
                    "values": clip["values"],
                    "synthetic": True,
                    "generator": f"espeak-ng -m -v {VOICE} -s {SPEED_WPM}, sox {CHAIN}",
                }
            )
    (HERE / "manifest.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


if __name__ == "__main__":
    main()
