"""The service end to end: real uvicorn, real Celery worker, real Redis, SQLite and PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import re

import numpy as np
import pytest
import soundfile as sf

from workers.evaluation.scoring import error_rates

from .conftest import METRICS_TOKEN, wait_for_job
from .stack import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.model]

# Synthetic speech (espeak-ng) that says a name, a personnummer and a phone number.
SPOKEN = REPO_ROOT / "audio_fixtures" / "redaction" / "speech"


def upload(client, path, **fields):
    with open(path, "rb") as f:
        return client.post("/v1/jobs", files={"file": (path.name, f)}, data=fields)


def stored_job_dirs(stack) -> set[str]:
    jobs_dir = stack.storage_dir / "jobs"
    return {p.name for p in jobs_dir.iterdir()} if jobs_dir.exists() else set()


def leftover_uploads(stack) -> list[str]:
    return [p.name for p in (stack.root / "data").glob(".upload-*")]


def test_upload_transcribe_and_fetch_every_format(stack, api_key, real_speech_entries):
    entry = real_speech_entries[2]
    with stack.client(api_key) as client:
        response = upload(client, entry["path"], language="sv")
        assert response.status_code == 202, response.text
        created = response.json()
        assert created["status"] == "queued" and response.headers["location"] == f"/v1/jobs/{created['id']}"
        assert created["file"]["sha256"] == hashlib.sha256(entry["path"].read_bytes()).hexdigest()

        job, progress = wait_for_job(client, created["id"])
        assert job["status"] == "completed", job
        assert progress == sorted(progress) and job["progress"] == 1.0
        assert job["duration_s"] == pytest.approx(entry["duration_s"], abs=0.05)
        assert {"decode", "transcribe"} <= set(job["timings_s"]) and job["real_time_factor"] > 0

        transcript = client.get(f"/v1/jobs/{job['id']}/transcript").json()
        assert transcript["schema_version"] == 1 and transcript["language"] == "sv"
        assert error_rates([entry["text"]], [transcript["text"]]).wer <= 0.5
        text = client.get(f"/v1/jobs/{job['id']}/transcript", params={"format": "txt"})
        assert text.headers["content-type"].startswith("text/plain") and text.text.startswith("[00:0")
        plain = client.get(f"/v1/jobs/{job['id']}/transcript", params={"format": "txt-plain"})
        assert plain.text.strip() == transcript["text"]
        assert client.get(f"/v1/jobs/{job['id']}/transcript", params={"format": "vtt"}).text.startswith("WEBVTT")
        assert "-->" in client.get(f"/v1/jobs/{job['id']}/transcript", params={"format": "srt"}).text
        docx = client.get(f"/v1/jobs/{job['id']}/transcript", params={"format": "docx"})
        assert docx.status_code == 200 and docx.content.startswith(b"PK"), "a zip container"
        assert docx.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument")
        assert client.get(f"/v1/jobs/{job['id']}/transcript", params={"format": "pdf"}).status_code == 422


@pytest.mark.diarization
def test_a_diarized_job_says_who_spoke_in_every_format(stack, api_key, conversation_entries, real_speech_entries):
    entry = next(e for e in conversation_entries if e["id"] == "conv2_samtal")
    with stack.client(api_key) as client:
        response = upload(client, entry["path"], diarize="true", max_speakers="3")
        assert response.status_code == 202, response.text
        assert response.json()["options"]["diarize"] is True
        job, progress = wait_for_job(client, response.json()["id"], timeout_s=400)
        assert job["status"] == "completed", job
        assert progress == sorted(progress) and job["progress"] == 1.0
        assert {"transcribe", "diarize"} <= set(job["timings_s"])

        base = f"/v1/jobs/{job['id']}/transcript"
        transcript = client.get(base).json()
        assert [s["id"] for s in transcript["speakers"]] == ["Talare 1", "Talare 2"]
        assert all(w["speaker"] == s["speaker"] for s in transcript["segments"] for w in s["words"])
        first_line = client.get(base, params={"format": "txt"}).text.splitlines()[0]
        assert re.fullmatch(r"\[00:0\d\] Talare 1: .+", first_line), first_line
        assert "<v Talare" in client.get(base, params={"format": "vtt"}).text
        rttm = client.get(base, params={"format": "rttm"}).text.splitlines()
        assert rttm and all(line.startswith(f"SPEAKER {job['id']} 1 ") for line in rttm)

        plain = upload(client, real_speech_entries[1]["path"]).json()
        wait_for_job(client, plain["id"])
        refused = client.get(f"/v1/jobs/{plain['id']}/transcript", params={"format": "rttm"})
        assert refused.status_code == 409 and "diarize=true" in refused.json()["error"]["message"]


def test_keys_see_only_their_own_tenants_jobs(stack, api_key, real_speech_entries):
    stack.cli("tenants", "create", "another tenant")
    other = stack.create_key("other", "--tenant", "another tenant")
    with stack.client(api_key) as mine, stack.client(other) as theirs, stack.client() as nobody:
        job = upload(mine, real_speech_entries[3]["path"]).json()
        assert nobody.get("/v1/jobs").status_code == 401
        assert nobody.get(f"/v1/jobs/{job['id']}").json()["error"]["code"] == "unauthorized"
        assert stack.client("sws_not-a-key").get("/v1/jobs").status_code == 401
        for method, path in [("GET", ""), ("GET", "/transcript"), ("DELETE", "")]:
            response = theirs.request(method, f"/v1/jobs/{job['id']}{path}")
            assert response.status_code == 404 and response.json()["error"]["code"] == "job_not_found"
        assert job["id"] not in {j["id"] for j in theirs.get("/v1/jobs").json()["jobs"]}
        assert job["id"] in {j["id"] for j in mine.get("/v1/jobs").json()["jobs"]}
        wait_for_job(mine, job["id"])


def test_bad_uploads_get_a_clear_4xx_and_leave_nothing(stack, api_key, tmp_path, real_speech_entries):
    from tests.audio_factory import reference_signal, write_audio

    mp3 = write_audio(tmp_path / "long.mp3", reference_signal(20.0, 44100, 2), 44100, "mp3", "libmp3lame", channels=2)
    truncated = tmp_path / "avbruten.mp3"
    truncated.write_bytes(mp3.read_bytes()[: mp3.stat().st_size * 2 // 5])
    empty = tmp_path / "tom.wav"
    empty.write_bytes(b"")
    text = tmp_path / "anteckningar.wav"
    text.write_text("det här är inte ljud")
    oversize = tmp_path / "stor.wav"
    oversize.write_bytes(b"RIFF" + bytes(3 * 1024 * 1024))
    good = real_speech_entries[0]["path"]
    # A day of audio in a few hundred bytes (1 Hz FLAC), and float samples that are all NaN.
    day = tmp_path / "dygn.flac"
    sf.write(day, np.zeros(24 * 3600, dtype=np.int16), samplerate=1, subtype="PCM_16")
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")

    with stack.client(api_key) as client:
        before_jobs = client.get("/v1/jobs").json()["total"]
        before_dirs = stored_job_dirs(stack)
        cases = [
            (upload(client, empty), 415, "empty"),
            (upload(client, text), 415, "not a recognised audio"),
            (upload(client, truncated), 415, "truncated"),
            (upload(client, oversize), 413, "limit of 2 MiB"),
            (upload(client, day), 415, "sample rate of 1 Hz is too low"),
            (upload(client, nan), 415, "non-finite"),
            (client.post("/v1/jobs", data={"language": "sv"}), 400, "'file' field"),
            (client.post("/v1/jobs", files={"recording": ("x.wav", good.read_bytes())}), 400, "'file' field"),
            (upload(client, good, colour="blue"), 400, "unknown option 'colour'"),
            (upload(client, good, language="klingon"), 400, "unknown language"),
            (upload(client, good, model="kb-whisper-large"), 400, "not offered here"),
            (upload(client, good, num_speakers="2"), 400, "need diarize=true"),
            (upload(client, good, diarize="true", min_speakers="3", max_speakers="2"), 400, "larger than max_speakers"),
            (upload(client, good, diarize="true", num_speakers="0"), 400, "num_speakers"),
            (upload(client, good, diarize="maybe"), 400, "diarize"),
            (upload(client, good, webhook_url="https://case.example:99999/hook"), 400, "invalid port"),
            (upload(client, good, webhook_url="https://case.example:abc/hook"), 400, "cannot be parsed"),
            (upload(client, good, webhook_url="https://[1.1.1.1]/hook"), 400, "cannot be parsed"),
            (upload(client, good, webhook_url="https://case.example/hook\nX: 1"), 400, "control characters"),
            (client.get("/v1/jobs", params={"offset": "99999999999999999999"}), 422, "offset"),
        ]
        for response, status, reason in cases:
            assert response.status_code == status, response.text
            assert reason in response.json()["error"]["message"], response.json()
        assert client.get("/v1/jobs").json()["total"] == before_jobs
        assert stored_job_dirs(stack) == before_dirs
        assert leftover_uploads(stack) == []


def test_file_names_the_database_would_refuse_are_kept_printable_and_short(stack, api_key, real_speech_entries):
    # PostgreSQL refuses NUL in text and values over the column's length: names are cleaned
    # before the row is written, never a 500 with the audio left behind. The body is built by
    # hand because HTTP clients percent-encode control characters in file names.
    audio = real_speech_entries[0]["path"].read_bytes()
    with stack.client(api_key) as client:
        for name, expected in [("möte\x00.flac".encode(), "möte?.flac"), (b"x" * 501 + b".flac", None)]:
            body = (
                b'--grans\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
                b"Content-Type: audio/flac\r\n\r\n" + audio + b"\r\n--grans--\r\n"
            )
            response = client.post("/v1/jobs", content=body, headers={"content-type": "multipart/form-data; boundary=grans"})
            assert response.status_code == 202, response.text
            shown = response.json()["file"]["name"]
            assert shown == expected if expected else (len(shown) == 500 and shown.endswith("….flac")), shown
            assert client.delete(f"/v1/jobs/{response.json()['id']}").status_code == 204


def test_idempotency_key_returns_the_same_job(stack, api_key, real_speech_entries):
    path = real_speech_entries[4]["path"]
    with stack.client(api_key) as client:
        first = client.post("/v1/jobs", files={"file": (path.name, path.read_bytes())}, headers={"Idempotency-Key": "arende-17"})
        again = client.post("/v1/jobs", files={"file": (path.name, path.read_bytes())}, headers={"Idempotency-Key": "arende-17"})
        assert first.status_code == 202 and again.status_code == 202
        assert first.json()["id"] == again.json()["id"]
        assert len(stored_job_dirs(stack) & {first.json()["id"]}) == 1
        # The key is bound to the content: another recording under it is refused, not dropped.
        before = stored_job_dirs(stack)
        other = real_speech_entries[3]["path"]
        conflict = client.post(
            "/v1/jobs", files={"file": (other.name, other.read_bytes())}, headers={"Idempotency-Key": "arende-17"}
        )
        assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "idempotency_conflict", conflict.text
        assert first.json()["id"] in conflict.json()["error"]["message"]
        assert stored_job_dirs(stack) == before and leftover_uploads(stack) == []
        wait_for_job(client, first.json()["id"])


def test_delete_removes_audio_and_results(stack, api_key, real_speech_entries):
    with stack.client(api_key) as client:
        job = upload(client, real_speech_entries[5]["path"]).json()
        wait_for_job(client, job["id"])
        assert job["id"] in stored_job_dirs(stack)
        assert client.delete(f"/v1/jobs/{job['id']}").status_code == 204
        assert client.get(f"/v1/jobs/{job['id']}").status_code == 404
        assert job["id"] not in stored_job_dirs(stack)
        assert client.delete(f"/v1/jobs/{job['id']}").status_code == 404


def test_list_is_paginated_and_filters_by_status(stack, api_key):
    with stack.client(api_key) as client:
        everything = client.get("/v1/jobs", params={"limit": 200}).json()
        assert everything["total"] >= 3
        page = client.get("/v1/jobs", params={"limit": 2, "offset": 1}).json()
        assert [j["id"] for j in page["jobs"]] == [j["id"] for j in everything["jobs"][1:3]]
        completed = client.get("/v1/jobs", params={"status": "completed"}).json()
        assert completed["jobs"] and all(j["status"] == "completed" for j in completed["jobs"])
        assert client.get("/v1/jobs", params={"status": "exploded"}).status_code == 422


def test_twenty_concurrent_uploads_all_complete(stack, api_key, real_speech_entries):
    clips = [real_speech_entries[i % 5 + 3]["path"] for i in range(20)]  # the short Common Voice clips
    with stack.client(api_key, timeout=120) as client:
        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(lambda p: upload(client, p), clips))
        assert [r.status_code for r in responses] == [202] * 20
        ids = {r.json()["id"] for r in responses}
        assert len(ids) == 20
        results = [wait_for_job(client, job_id, timeout_s=600)[0] for job_id in ids]
        assert [r["status"] for r in results] == ["completed"] * 20


def test_health_readiness_metrics_and_docs(stack, api_key):
    with stack.client(api_key) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}
        # Prometheus's token, not an API key.
        assert client.get("/metrics").status_code == 401
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
        assert 'swescribe_jobs{status="completed"}' in metrics
        assert 'swescribe_queue_depth{queue="gpu"}' in metrics
        assert "swescribe_audio_processed_seconds_total" in metrics
        assert 'swescribe_stage_duration_seconds_total{stage="transcribe"}' in metrics
        # The stack listens on 127.0.0.1: SWESCRIBE_PUBLIC_DOCS=auto serves the documentation.
        assert "/v1/jobs" in client.get("/openapi.json").json()["paths"]
        assert client.get("/docs").status_code == 200


def test_logs_carry_no_transcript_text_file_names_or_references(stack, tmp_path):
    # Synthetic speech that says a name, a personal identity number and a phone number, in a
    # recording named after a person and another identity number, with that number as its case
    # reference, searched for by an admin: none of it, and none of what the model heard, may be
    # in any log line of the API or the worker.
    spoken = json.loads((SPOKEN / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[0])
    pnr = "19121212-1212"
    named = tmp_path / f"Anna Svensson {pnr}.flac"
    named.write_bytes((SPOKEN / spoken["file"]).read_bytes())
    admin = stack.create_key("dataskydd", "--role", "admin")
    with stack.client(admin) as client:
        created = upload(client, named, reference=pnr).json()
        job, _ = wait_for_job(client, created["id"])
        assert job["status"] == "completed", job
        transcript = client.get(f"/v1/jobs/{job['id']}/transcript").json()
        client.get(f"/v1/jobs/{job['id']}/transcript", params={"format": "txt"})
        found = client.get("/v1/admin/jobs", params={"reference": pnr}).json()
        assert [j["id"] for j in found["jobs"]] == [job["id"]]
    words = [w["text"].strip(" ,.?!") for s in transcript["segments"] for w in s["words"]]
    # Three words in a row, of 8 characters or more: long enough not to match a log line by chance.
    phrases = {p for i in range(len(words) - 2) if len(p := " ".join(words[i : i + 3])) >= 8}
    assert phrases, transcript["text"]
    heard_digits = "".join(c for c in transcript["text"] if c.isdigit())
    said = [v for value in spoken["values"].values() for v in (value, "".join(c for c in value if c.isdigit()))]
    forbidden = {
        pnr,
        "19121212",
        "Svensson",
        *phrases,
        *[v for v in said if v],
        *([heard_digits] if len(heard_digits) >= 6 else []),
    }
    logs = {p.name: p.read_text(errors="replace") for p in stack.root.glob("*.log") if p.name != "redis.log"}
    assert {"api.log", "worker0.log"} <= set(logs)
    assert job["id"] in logs["api.log"], "the access log is on and names the job"
    for name, text in logs.items():
        for line in text.splitlines():
            assert not [f for f in forbidden if f.lower() in line.lower()], (name, line)
