"""Redaction end to end through the running service (API, gpu and cpu workers, Redis, SQLite, a
scripted LLM endpoint, a webhook receiver) on SYNTHETIC speech that says a name, a personnummer
and a phone number (audio_fixtures/redaction/speech, espeak-ng).

The offline model hears espeak-ng's digits badly: on this clip it writes
"Jag heter Anna Svensson, för numret är 4 ,5 ,0 ,3 ,5 ,2 ,3 ,3 ,5 ,0 ,3 ,4 ,0 ,2 ..." - the name
right (on an AMD Zen 2 CPU "Anders Männson"), the two numbers as one run of misheard digits. So the test does not pretend the spoken
numbers reach the transcript: a job without redaction shows what the model heard, and the
redacted job must hold none of it - neither the spoken values nor the heard ones - in any
stored object (the database file included), the webhook payload, the summary, the LLM's
prompts or any log line."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import pytest

from tests.chat_endpoint import ChatEndpoint
from workers.redaction.redact import find_entities
from workers.transcript.formats import transcript_from_json

from .conftest import wait_for_job
from .stack import make_stack

pytestmark = [pytest.mark.integration, pytest.mark.model]

CLIP_DIR = Path(__file__).resolve().parents[2] / "audio_fixtures" / "redaction" / "speech"
SPOKEN = ("8503123310", "850312-3310", "0701234567", "070-123 45 67", "Anna Svensson", "Svensson")


def _wait(condition, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def _heard_values(stored_json: str) -> set[str]:
    """What the model heard of each entity, as written and as bare digits (at least 6: a shorter
    fragment identifies nobody and turns up in logs as a process id or a port)."""
    transcript = transcript_from_json(stored_json)
    values = set()
    for span in find_entities(transcript):
        words = transcript.segments[span.segment_index].words[span.first_word : span.end_word]
        written = " ".join(w.text for w in words).strip(" ,.")
        digits = re.sub(r"\D", "", written)
        if len(digits) >= 6:
            values.update((written, digits))
        elif sum(c.isalpha() for c in written) >= 4:
            values.add(written)
    return values


def test_a_redacted_job_leaves_no_personal_data_anywhere(tmp_path, model_cache, receiver):
    llm = ChatEndpoint()
    hook = receiver([])
    root = tmp_path / "stack"
    service = make_stack(
        root,
        f"sqlite:///{root / 'db.sqlite'}",
        model_cache,
        llm_base_url=llm.base_url,
        llm_max_retries="0",
        webhook_allow_private="1",
    )
    try:
        service.start_api()
        service.start_worker("gpu")
        service.start_worker("cpu")
        key = service.create_key("ärendesystem")
        clip = CLIP_DIR / "pnr_telefon.flac"
        with service.client(key) as client:
            assert client.put("/v1/webhook", json={"url": hook.url}).status_code == 200
            # What the model hears, unredacted: a job of its own, kept apart below.
            plain = client.post("/v1/jobs", files={"file": (clip.name, clip.read_bytes())}).json()
            redacted = client.post(
                "/v1/jobs",
                files={"file": (clip.name, clip.read_bytes())},
                data={"redact_audio": "true", "summarize": "true"},
            ).json()
            assert wait_for_job(client, plain["id"])[0]["status"] == "completed"
            heard_text = client.get(f"/v1/jobs/{plain['id']}/transcript").text
            heard = _heard_values(heard_text)
            # Measured: a name (on Intel and AMD Zen 4 "Anna Svensson", on AMD Zen 2 "Anders
            # Männson": CTranslate2's kernels differ by CPU), and the misheard digits as
            # NUMMER/BANKKORT spans.
            names = {v for v in heard if v.replace(" ", "").isalpha()}
            assert names and any(len(v) >= 10 and v.isdigit() for v in heard), heard

            done, _ = wait_for_job(client, redacted["id"])
            assert done["status"] == "completed", done
            _wait(lambda: client.get(f"/v1/jobs/{redacted['id']}").json()["summary"]["status"] in ("completed", "failed"))
            _wait(lambda: any(json.loads(body)["data"]["id"] == redacted["id"] for _, body in hook.received))

            document = client.get(f"/v1/jobs/{redacted['id']}/transcript").json()
            assert "[NAMN]" in document["text"] and document["redaction"]["entities"]
            assert all(set(e) == {"type", "segment_id", "start_s", "end_s"} for e in document["redaction"]["entities"])
            audio = client.get(f"/v1/jobs/{redacted['id']}/audio", params={"redacted": "true"})
            assert audio.status_code == 200 and audio.content[:4] == b"fLaC"
            summary = client.get(f"/v1/jobs/{redacted['id']}/summary")
            assert summary.status_code == 200, summary.text

        forbidden = set(SPOKEN) | heard
        places: dict[str, str] = {}
        for path in sorted(service.storage_dir.rglob("*")):
            if path.is_file() and plain["id"] not in path.parts:
                places[str(path.relative_to(root))] = path.read_bytes().decode("utf-8", "replace")
        bodies = [body.decode("utf-8") if isinstance(body, bytes) else body for _, body in hook.received]
        webhooks = [body for body in bodies if json.loads(body)["data"]["id"] == redacted["id"]]
        places.update({f"webhook {k}": body for k, body in enumerate(webhooks)})
        prompts = [json.dumps(r["body"], ensure_ascii=False) for r in llm.requests]
        assert prompts and all("[NAMN]" in p for p in prompts)
        places.update({f"llm request {k}": p for k, p in enumerate(prompts)})
        for log in sorted(root.glob("*.log")):
            for number, line in enumerate(log.read_text(errors="replace").splitlines(), start=1):
                places[f"{log.name}:{number}"] = line
        # The database keeps the delivery payloads (the unredacted job's too: only the redacted
        # job's rows count) and the job rows (options, errors, audit details).
        with sqlite3.connect(root / "db.sqlite") as db:
            rows = db.execute("SELECT payload FROM webhook_deliveries WHERE job_id = ?", (redacted["id"],)).fetchall()
            places.update({f"webhook_deliveries {k}": row[0] for k, row in enumerate(rows)})
            job_row = db.execute("SELECT * FROM jobs WHERE id = ?", (redacted["id"],)).fetchone()
            places["jobs row"] = json.dumps([str(v) for v in job_row], ensure_ascii=False)
            audit = db.execute("SELECT * FROM audit_events").fetchall()
            places.update({f"audit {k}": json.dumps([str(v) for v in row], ensure_ascii=False) for k, row in enumerate(audit)})
        assert rows and any(name.endswith("audio.redacted.flac") for name in places), "deliveries and the toned copy stored"
        leaks = [(where, value) for where, text in places.items() for value in forbidden if value in text]
        assert leaks == [], leaks
        assert len(places) > 20, sorted(places)  # every log line, object, payload and row was looked at
    finally:
        service.stop()
        llm.close()
