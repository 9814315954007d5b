"""The ingest loop on a real folder, a real SQLite job store and real local storage; the
worker's part (completing jobs and summaries) is done here through the job store, so every
crash point can be stepped through. tests/integration/test_ingest.py runs it with the real worker."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.transcripts import segment, transcript, words
from workers.ingest.layout import prepare_folder
from workers.ingest.runner import Ingester
from workers.ingest.submit import Submitter, owner_for
from workers.intake.options import JobOptions
from workers.intake.submit import Intake
from workers.store import jobs
from workers.store.db import Priority, session_factory
from workers.store.migrate import upgrade
from workers.store.storage import LocalStorage
from workers.summary.schema import Summary, Usage
from workers.transcript.formats import to_json

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIP = REPO_ROOT / "audio_fixtures" / "synthetic" / "sv_clean_m1_01.flac"
OTHER_CLIP = REPO_ROOT / "audio_fixtures" / "synthetic" / "sv_clean_f2_02.flac"


@pytest.fixture
def env(tmp_path):
    url = f"sqlite:///{tmp_path / 'swescribe.db'}"
    upgrade(url)
    sessions = session_factory(url)
    storage = LocalStorage(tmp_path / "storage")
    (tmp_path / "mapp").mkdir()
    layout = prepare_folder(tmp_path / "mapp")
    sent: list[str] = []
    return sessions, storage, layout, sent


def ingester(env, options: JobOptions = JobOptions()) -> Ingester:
    sessions, storage, layout, sent = env
    submitter = Submitter(
        Intake(sessions, storage, lambda job_id, _priority: sent.append(job_id)), owner=owner_for(layout.root), options=options
    )
    return Ingester(layout, submitter, sessions, storage, settle_s=0)


def drop(env, name: str, source: Path = CLIP) -> None:
    (env[2].inbox / name).write_bytes(source.read_bytes())


def take_all(ing: Ingester) -> None:
    ing.take(ing.scan(0.0))
    ing.take(ing.scan(1.0))


def run_job(env, job_id: str) -> None:
    """What the worker does: run the job and store its transcript."""
    sessions, storage = env[0], env[1]
    assert jobs.start_attempt(sessions, job_id) is not None
    key = jobs.transcript_key(job_id)
    storage.save_bytes(
        key, to_json(transcript(segment(0, words((0.0, 0.6, "Hej"), (0.6, 1.2, "Åsa."))), duration_s=6.0)).encode()
    )
    assert jobs.complete_job(sessions, job_id, key, 6.0, {"transcribe": 1.0})


def listing(path: Path) -> list[str]:
    return sorted(os.listdir(path))


def test_a_file_becomes_outputs_and_moves_to_done(env):
    sessions, _storage, layout, sent = env
    drop(env, "möte 1.flac")
    ing = ingester(env)
    take_all(ing)
    assert len(sent) == 1 and listing(layout.inbox) == []
    ing.poll()
    assert listing(layout.done) == []  # still queued
    run_job(env, sent[0])
    ing.poll()
    assert listing(layout.done) == ["möte 1.flac"]
    assert listing(layout.outbox) == [f"möte 1{s}" for s in (".docx", ".json", ".plain.txt", ".srt", ".txt", ".vtt")]
    assert (layout.outbox / "möte 1.txt").read_text() == "[00:00] Hej Åsa.\n"
    assert listing(layout.processing) == []
    assert ing.active == {}


def test_a_summary_is_waited_for_and_written_beside_the_transcript(env):
    sessions, storage, layout, sent = env
    drop(env, "förhör.flac")
    ing = ingester(env, JobOptions(summarize=True))
    take_all(ing)
    job_id = sent[0]
    assert jobs.get_job(sessions, job_id).options == {"summarize": True}
    run_job(env, job_id)
    ing.poll()
    assert listing(layout.done) == []  # transcript ready, summary pending: wait for both
    assert jobs.claim_summary(sessions, job_id) is not None
    summary = Summary(
        abstract="Ett kort förhör.",
        matter="Stöld i Kiruna",
        participants=[],
        decisions=[],
        action_items=[],
        open_questions=["Vem ägde cykeln?"],
        model="test",
        chunks=1,
        dropped_ungrounded=0,
        usage=Usage(),
    )
    storage.save_bytes(jobs.summary_key(job_id), summary.model_dump_json().encode())
    assert jobs.complete_summary(sessions, job_id, jobs.summary_key(job_id))
    ing.poll()
    markdown = (layout.outbox / "förhör.summary.md").read_text()
    assert markdown.startswith("# Sammanfattning: förhör.flac") and "Stöld i Kiruna" in markdown
    import docx

    document = "\n".join(p.text for p in docx.Document(str(layout.outbox / "förhör.docx")).paragraphs)
    assert "Sammanfattning" in document and "Stöld i Kiruna" in document and "Vem ägde cykeln?" in document
    assert listing(layout.done) == ["förhör.flac"]


def test_a_failed_summary_still_delivers_the_transcript(env):
    sessions, _storage, layout, sent = env
    drop(env, "a.flac")
    ing = ingester(env, JobOptions(summarize=True))
    take_all(ing)
    run_job(env, sent[0])
    assert jobs.claim_summary(sessions, sent[0]) is not None
    assert jobs.fail_summary(sessions, sent[0], "llm_unavailable", "no answer")
    ing.poll()
    assert listing(layout.done) == ["a.flac"] and not (layout.outbox / "a.summary.md").exists()
    assert (layout.outbox / "a.json").exists()


def test_duplicates_share_one_job_and_each_gets_its_results(env):
    sessions, _storage, layout, sent = env
    drop(env, "a.flac")
    drop(env, "kopia av a.flac")
    drop(env, "b.flac", OTHER_CLIP)
    ing = ingester(env)
    take_all(ing)
    assert len(sent) == 2  # one task per distinct content
    for job_id in sent:
        run_job(env, job_id)
    ing.poll()
    assert listing(layout.done) == ["a.flac", "b.flac", "kopia av a.flac"]
    assert (layout.outbox / "a.json").read_text() == (layout.outbox / "kopia av a.json").read_text()
    owned, total = jobs.list_jobs(sessions, owner_for(layout.root), None, 10, 0)
    assert total == 2

    # The same name and content again: a free name, never an overwrite; still no new job.
    drop(env, "a.flac")
    take_all(ing)
    ing.poll()
    assert "a (2).flac" in listing(layout.done) and (layout.outbox / "a (2).json").exists()
    assert jobs.list_jobs(sessions, owner_for(layout.root), None, 10, 0)[1] == 2 and len(sent) == 2


def test_restart_after_a_kill_resends_nothing_already_sent_and_loses_nothing(env):
    sessions, _storage, layout, sent = env
    drop(env, "a.flac")
    drop(env, "b.flac", OTHER_CLIP)
    first = ingester(env)
    take_all(first)
    assert len(sent) == 2
    # Killed after creating b's job but before recording that its task was sent.
    (claim_b,) = [c for c in first.active.values() if c.name == "b.flac"]
    state = json.loads((claim_b.folder / "state.json").read_text())
    state.pop("enqueued")
    (claim_b.folder / "state.json").write_text(json.dumps(state))
    del first

    second = ingester(env)
    second.resume()
    assert sent.count(claim_b.state["job_id"]) == 2 and len(sent) == 3  # only b's task again
    for job_id in set(sent):
        run_job(env, job_id)
    second.poll()
    assert listing(layout.done) == ["a.flac", "b.flac"]
    assert jobs.list_jobs(sessions, owner_for(layout.root), None, 10, 0)[1] == 2


def test_restart_after_a_kill_while_writing_results_finishes_without_duplicates(env):
    _sessions, _storage, layout, sent = env
    drop(env, "a.flac")
    first = ingester(env)
    take_all(first)
    run_job(env, sent[0])
    (claim,) = first.active.values()
    # Killed after the plan was recorded and one output written, before the move.
    carry_out = first._carry_out
    first._carry_out = lambda c, outputs=None: None
    first.poll()
    plan = json.loads((claim.folder / "state.json").read_text())["plan"]
    (layout.root / plan["outputs"][".json"]).write_text("{}")
    del first, carry_out

    second = ingester(env)
    second.resume()
    assert listing(layout.outbox) == ["a.docx", "a.json", "a.plain.txt", "a.srt", "a.txt", "a.vtt"]  # rewritten, none twice
    assert json.loads((layout.outbox / "a.json").read_text())["text"] == "Hej Åsa."
    assert listing(layout.done) == ["a.flac"] and second.active == {}


def test_claimed_but_not_hashed_files_are_submitted_on_restart(env):
    _sessions, _storage, layout, sent = env
    drop(env, "a.flac")
    first = ingester(env)
    first._advance = lambda claim: None  # killed right after the claim
    take_all(first)
    assert sent == [] and listing(layout.inbox) == []
    second = ingester(env)
    second.resume()
    assert len(sent) == 1
    run_job(env, sent[0])
    second.poll()
    assert listing(layout.done) == ["a.flac"]


def test_bad_audio_and_links_fail_without_a_job(env, tmp_path):
    sessions, _storage, layout, sent = env
    (layout.inbox / "inte ljud.wav").write_text("hej")
    secret = tmp_path / "hemlig.flac"
    secret.write_bytes(CLIP.read_bytes())
    (layout.inbox / "länk.flac").symlink_to(secret)
    ing = ingester(env)
    take_all(ing)
    assert sent == [] and ing.active == {}
    assert listing(layout.failed) == ["inte ljud.error.txt", "inte ljud.wav", "länk.error.txt", "länk.flac"]
    assert "audio_decode_error" in (layout.failed / "inte ljud.error.txt").read_text()
    assert secret.read_bytes() == CLIP.read_bytes()


def test_a_failed_job_fails_the_file_and_a_new_drop_tries_again(env):
    sessions, _storage, layout, sent = env
    drop(env, "a.flac")
    ing = ingester(env)
    take_all(ing)
    assert jobs.fail_job(sessions, sent[0], "too_many_attempts", "the worker died three times")
    ing.poll()
    assert listing(layout.failed) == ["a.error.txt", "a.flac"]
    text = (layout.failed / "a.error.txt").read_text()
    assert "too_many_attempts" in text and "died three times" in text and sent[0] in text

    drop(env, "a.flac")
    take_all(ing)
    assert len(sent) == 2 and sent[1] != sent[0]
    run_job(env, sent[1])
    ing.poll()
    assert listing(layout.done) == ["a.flac"] and jobs.get_job(sessions, sent[0]) is None


def test_with_the_queue_down_a_pass_stops_and_the_next_one_resumes(env):
    from workers.ingest.runner import SubmitFailed

    sessions, storage, layout, sent = env
    for i in range(25):
        (layout.inbox / f"klipp {i:02d}.flac").write_bytes(CLIP.read_bytes() + bytes([i]))  # distinct content

    def broker_down(job_id, priority):
        raise ConnectionRefusedError("Error 111 connecting to 127.0.0.1:6379")

    down = Ingester(
        layout,
        Submitter(Intake(sessions, storage, broker_down), owner=owner_for(layout.root), options=JobOptions()),
        sessions,
        storage,
        settle_s=0,
    )
    with pytest.raises(SubmitFailed, match="could not be queued: the job queue is unavailable: Error 111"):
        down.run_once(sleep=lambda s: None)
    claimed = [n for n in listing(layout.processing)]
    assert len(claimed) == 1 and len(listing(layout.inbox)) == 24  # stopped at the first failure, nothing lost

    ing = ingester(env)
    ing.resume()
    ing.take(ing.scan(0.0))
    ing.take(ing.scan(1.0))
    assert len(set(sent)) == 25 and listing(layout.inbox) == []
    for job_id in set(sent):
        run_job(env, job_id)
    ing.poll()
    assert len(listing(layout.done)) == 25 and jobs.list_jobs(sessions, owner_for(layout.root), None, 50, 0)[1] == 25


def test_a_folder_with_a_webhook_gets_a_signing_secret_once(env):
    from workers.commands.ingest import _ensure_webhook_secret
    from workers.webhooks import store

    sessions, _storage, layout, _sent = env
    owner = owner_for(layout.root)
    _ensure_webhook_secret(sessions, owner, layout)
    secret_file = layout.root / ".webhook-secret"
    secret = secret_file.read_text().strip()
    assert secret.startswith("whsec_") and secret == store.get_endpoint(sessions, owner).secret
    assert secret_file.stat().st_mode & 0o777 == 0o600
    _ensure_webhook_secret(sessions, owner, layout)  # a second start keeps the same secret
    assert secret_file.read_text().strip() == store.get_endpoint(sessions, owner).secret == secret


@pytest.mark.parametrize(
    ("options", "expected"), [(JobOptions(), Priority.bulk), (JobOptions(priority="normal"), Priority.normal)]
)
def test_folder_jobs_are_bulk_unless_the_folder_says_normal(env, options, expected):
    sessions, _storage, _layout, sent = env
    drop(env, "röstbrevlåda.flac")
    take_all(ingester(env, options))
    assert jobs.get_job(sessions, sent[0]).priority == expected
