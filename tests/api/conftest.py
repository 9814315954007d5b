"""The API in-process: FastAPI's TestClient over a real SQLite database and real local storage
in tmp_path; only the broker is faked (a recorder that can be switched to fail like a broker
that is down). No server, worker or Redis is needed."""

from __future__ import annotations

import gc
import io
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from app.deps import get_app_settings, get_celery, get_intake, get_sessions, get_storage
from app.main import create_app
from tests.transcripts import segment, transcript, words
from workers.intake.submit import Intake
from workers.settings import Settings
from workers.store import jobs
from workers.store.db import DEFAULT_TENANT, ApiKey, get_engine, new_id, session_factory, utcnow
from workers.store.keys import create_key, create_tenant
from workers.store.migrate import upgrade
from workers.store.storage import LocalStorage
from workers.summary.schema import Citation, Decision, Summary, Usage
from workers.tasks.names import ticket_queue
from workers.transcript.formats import to_json
from workers.transcript.types import Transcript

REPO_ROOT = Path(__file__).resolve().parents[2]
FLAC_CLIP = REPO_ROOT / "audio_fixtures" / "synthetic" / "got_fast_m2_08.flac"
DB_NAME = "swescribe.db"


class BrokerDown(ConnectionError):
    pass


@dataclass
class FakeBroker:
    """Records what would have been queued; `down = True` makes every send fail."""

    down: bool = False
    enqueued: list[str] = field(default_factory=list)  # transcription tickets (job ids)
    queues: list[str] = field(default_factory=list)  # the queue each ticket went to
    tasks: list[tuple[str, list, str | None]] = field(default_factory=list)  # other tasks: (name, args, queue)

    def enqueue(self, job_id: str, priority: int) -> None:
        if self.down:
            raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.enqueued.append(job_id)
        self.queues.append(ticket_queue(priority))

    def send_task(self, name: str, args=None, queue: str | None = None, **_kwargs) -> None:
        if self.down:
            raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.tasks.append((name, list(args or []), queue))


@dataclass
class Api:
    client: TestClient
    settings: Settings
    sessions: sessionmaker
    storage: LocalStorage
    broker: FakeBroker
    data_dir: Path
    key: str  # the caller's API key
    owner: str  # its id (job owner)
    other_key: str
    other_owner: str

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    def upload(
        self,
        data: bytes | None = None,
        filename: str = "möte.wav",
        *,
        key: str | None = None,
        path: str = "/v1/jobs",
        fields: dict | None = None,
        headers: dict | None = None,
    ):
        files = {"file": (filename, wav_bytes() if data is None else data, "application/octet-stream")}
        return self.client.post(path, files=files, data=fields or {}, headers={**self.auth(key), **(headers or {})})

    def job_count(self) -> int:
        return len(jobs.list_jobs(self.sessions, None, None, 1000, 0)[0])

    def leftovers(self) -> list[str]:
        """Every file in the data dir except the database: uploads' temp files, stored objects."""
        return sorted(
            str(p.relative_to(self.data_dir)) for p in self.data_dir.rglob("*") if p.is_file() and not p.name.startswith(DB_NAME)
        )

    def revoke(self, owner: str) -> None:
        with self.sessions() as session:
            session.execute(update(ApiKey).where(ApiKey.id == owner).values(revoked_at=utcnow()))
            session.commit()


def wav_bytes(duration_s: float = 0.5, sample_rate: int = 16_000) -> bytes:
    """A short 440 Hz tone as 16-bit PCM WAV."""
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is `status` with the one error shape {"error": {"code", "message"}}."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str), body
    assert body["error"]["message"].strip(), body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


@pytest.fixture(scope="session", autouse=True)
def _frozen_heap() -> Iterator[None]:
    """Every probed upload ends in decode_audio's gc.collect() (workers/transcript/audio.py);
    over the test process's large heap of long-lived objects that takes ~0.15 s each. Frozen,
    those objects are skipped and the collection only looks at new ones, which are what it is for."""
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """One database migrated to head; each test gets a copy (migrating takes longer than copying)."""
    path = tmp_path_factory.mktemp("template") / DB_NAME
    url = f"sqlite:///{path}"
    upgrade(url)
    get_engine(url).dispose()
    return path


def copy_database(template: Path, target: Path) -> None:
    # sqlite3's backup API copies a consistent database whatever its journal (WAL) state.
    target.parent.mkdir(parents=True, exist_ok=True)
    source, dest = sqlite3.connect(template), sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        source.close()
        dest.close()


def make_settings(data_dir: Path, **overrides) -> Settings:
    values = dict(
        _env_file=None,
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / DB_NAME}",
        storage="local",
        storage_dir=data_dir / "storage",
        auth_disabled=False,
        max_upload_mb=1,
        asr_model="whisper-base-offline",
        asr_models_allowed="",
        webhook_allow_private=False,
        sync_timeout_s=5.0,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict:
    """Override in a test module to change the API's settings."""
    return {}


@pytest.fixture
def api(tmp_path, migrated_template, settings_overrides) -> Iterator[Api]:
    data_dir = tmp_path / "data"
    copy_database(migrated_template, data_dir / DB_NAME)
    settings = make_settings(data_dir, **settings_overrides)
    sessions = session_factory(settings.sqlalchemy_url)
    storage = LocalStorage(settings.storage_root)
    broker = FakeBroker()
    app = create_app(settings)
    app.dependency_overrides[get_app_settings] = lambda: settings
    app.dependency_overrides[get_sessions] = lambda: sessions
    app.dependency_overrides[get_storage] = lambda: storage
    app.dependency_overrides[get_celery] = lambda: broker
    app.dependency_overrides[get_intake] = lambda: Intake(sessions, storage, broker.enqueue)
    # Two admins of two tenants: each tenant's jobs are invisible to the other.
    first, key = create_key(sessions, "ärendesystem", DEFAULT_TENANT, "admin")
    second, other_key = create_key(sessions, "annan", create_tenant(sessions, "annan kommun").id, "admin")
    # raise_server_exceptions=False: an unhandled error must show as the 500 a client would get.
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, settings, sessions, storage, broker, data_dir, key, first.id, other_key, second.id)
    get_engine(settings.sqlalchemy_url).dispose()


# Jobs in a given state, written through the job store as a worker would.


def sample_transcript(diarized: bool = False) -> Transcript:
    made = transcript(
        segment(0, words((0.0, 0.4, "Hej"), (0.5, 0.9, "alla"))),
        segment(1, words((1.0, 1.4, "Mötet"), (1.5, 2.0, "börjar"))),
        duration_s=2.5,
    )
    if not diarized:
        return made
    from dataclasses import replace

    from workers.transcript.types import Speaker, SpeakerTurn

    segments = tuple(
        replace(s, speaker=f"Talare {s.id + 1}", words=tuple(replace(w, speaker=f"Talare {s.id + 1}") for w in s.words))
        for s in made.segments
    )
    return replace(
        made,
        segments=segments,
        speakers=(Speaker(id="Talare 1", talk_time_s=0.9), Speaker(id="Talare 2", talk_time_s=1.0)),
        speaker_turns=(SpeakerTurn(0.0, 0.9, "Talare 1"), SpeakerTurn(1.0, 2.0, "Talare 2")),
        diarization_model="pyannote-offline",
    )


def sample_summary() -> Summary:
    return Summary(
        abstract="Ett kort möte.",
        matter="Mötets början",
        participants=[],
        decisions=[Decision(text="Mötet börjar.", citations=[Citation(segment_id=1, start_s=1.0, end_s=2.0)])],
        action_items=[],
        open_questions=[],
        model="test",
        chunks=1,
        dropped_ungrounded=0,
        usage=Usage(),
    )


def queued_job(
    api: Api, owner: str | None = None, options: dict | None = None, filename: str = "möte.wav", tenant_id: str | None = None
) -> str:
    job_id = new_id()
    audio_key = f"{jobs.job_prefix(job_id)}/audio.wav"
    stored = api.storage.save_bytes(audio_key, wav_bytes())
    new = jobs.NewJob(
        owner=owner or api.owner,
        filename=filename,
        audio_key=audio_key,
        audio_sha256=stored.sha256,
        audio_size_bytes=stored.size_bytes,
        duration_s=0.5,
        options=options or {},
        tenant_id=tenant_id or _tenant_of(api, owner or api.owner),
    )
    jobs.create_job(api.sessions, new, job_id)
    return job_id


def _tenant_of(api: Api, owner: str) -> str:
    from workers.store.keys import get_key

    record = get_key(api.sessions, owner)
    return record.tenant_id if record else DEFAULT_TENANT


def completed_job(api: Api, owner: str | None = None, options: dict | None = None, diarized: bool = False) -> str:
    job_id = queued_job(api, owner, options)
    assert jobs.start_attempt(api.sessions, job_id) is not None
    key = jobs.transcript_key(job_id)
    api.storage.save_bytes(key, to_json(sample_transcript(diarized)).encode("utf-8"))
    assert jobs.complete_job(api.sessions, job_id, key, 2.5, {"decode": 0.1, "transcribe": 1.0, "store": 0.01})
    return job_id


def failed_job(api: Api, owner: str | None = None, options: dict | None = None) -> str:
    job_id = queued_job(api, owner, options)
    assert jobs.start_attempt(api.sessions, job_id) is not None
    assert jobs.fail_job(api.sessions, job_id, "audio_decode_error", "möte.wav: cannot decode audio: cut off")
    return job_id


def job_with_summary(api: Api, state: str) -> str:
    """A completed job whose summary (asked for at upload) is pending, running, completed or failed."""
    job_id = completed_job(api, options={"summarize": True})
    if state == "pending":
        return job_id
    assert jobs.claim_summary(api.sessions, job_id) is not None
    if state == "completed":
        api.storage.save_bytes(jobs.summary_key(job_id), sample_summary().model_dump_json().encode("utf-8"))
        assert jobs.complete_summary(api.sessions, job_id, jobs.summary_key(job_id))
    elif state == "failed":
        assert jobs.fail_summary(api.sessions, job_id, "llm_unavailable", "the summary model did not answer")
    else:
        assert state == "running", state
    return job_id
