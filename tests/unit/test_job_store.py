"""The job store against both databases the service supports: SQLite and PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import math
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import inspect, text, update

from workers.runners.liveness import current_worker
from workers.runners.reconcile import BrokerTickets, ReconcileOptions, reconcile
from workers.store import jobs
from workers.store.db import Job, Priority, get_engine, new_id, session_factory, utcnow
from workers.store.keys import create_key, find_key
from workers.store.migrate import upgrade
from workers.tasks.names import BULK_QUEUE, GPU_QUEUE


def new_job(owner="k1", key=None) -> jobs.NewJob:
    return jobs.NewJob(
        owner=owner,
        filename="möte.wav",
        audio_key="jobs/x/audio.wav",
        audio_sha256="0" * 64,
        audio_size_bytes=10,
        duration_s=4.0,
        options={"language": "sv"},
        idempotency_key=key,
    )


def test_a_job_runs_completes_once_and_stays_completed(sessions):
    job, created = jobs.create_job(sessions, new_job(), new_id())
    assert created and job.status == "queued"
    assert jobs.start_attempt(sessions, job.id).attempts == 1
    jobs.report_progress(sessions, job.id, "transcribe", 0.5)
    jobs.report_progress(sessions, job.id, "transcribe", 0.3)
    assert jobs.get_job(sessions, job.id).progress == 0.5, "progress never goes down"
    assert jobs.complete_job(sessions, job.id, "jobs/x/transcript.json", 4.0, {"transcribe": 1.0})
    assert not jobs.complete_job(sessions, job.id, "jobs/x/other.json", 4.0, {})
    assert not jobs.fail_job(sessions, job.id, "late", "a late failure")
    assert jobs.start_attempt(sessions, job.id) is None, "a redelivered task finds nothing to do"
    done = jobs.get_job(sessions, job.id)
    assert (done.status, done.transcript_key, done.progress, done.attempts) == ("completed", "jobs/x/transcript.json", 1.0, 1)


def test_a_restarted_attempt_keeps_progress_rising(sessions):
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    jobs.start_attempt(sessions, job.id)
    jobs.report_progress(sessions, job.id, "transcribe", 0.6)
    again = jobs.start_attempt(sessions, job.id)  # the worker died; the task came back
    assert again.attempts == 2 and again.progress == 0.6


def test_owners_only_see_their_own(sessions):
    mine, _ = jobs.create_job(sessions, new_job("k1"), new_id())
    jobs.create_job(sessions, new_job("k2"), new_id())
    assert jobs.get_job(sessions, mine.id, "k2") is None
    assert jobs.get_job(sessions, mine.id, "k1").id == mine.id
    listed, total = jobs.list_jobs(sessions, "k1", None, 50, 0)
    assert total == 1 and [j.id for j in listed] == [mine.id]


def test_pagination_and_status_filter(sessions):
    ids = [jobs.create_job(sessions, new_job(), new_id())[0].id for _ in range(5)]
    jobs.start_attempt(sessions, ids[0])
    jobs.fail_job(sessions, ids[0], "audio_decode_error", "x: truncated")
    page, total = jobs.list_jobs(sessions, "k1", None, 2, 2)
    assert total == 5 and len(page) == 2
    failed, total_failed = jobs.list_jobs(sessions, "k1", "failed", 50, 0)
    assert total_failed == 1 and failed[0].error_code == "audio_decode_error"
    assert jobs.list_jobs(sessions, "k1", "queued", 50, 0)[1] == 4


def test_idempotency_key_under_concurrency_gives_one_job(sessions):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: jobs.create_job(sessions, new_job(key="ärende-7"), new_id()), range(8)))
    assert len({job.id for job, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    # The same key from another owner is another job.
    other, created = jobs.create_job(sessions, new_job("k2", key="ärende-7"), new_id())
    assert created and other.id != results[0][0].id


def test_delete(sessions):
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    assert jobs.delete_job(sessions, job.id) and jobs.get_job(sessions, job.id) is None
    assert not jobs.delete_job(sessions, job.id)
    assert not jobs.complete_job(sessions, job.id, "k", 1.0, {})


def test_keys_are_stored_hashed(sessions):
    record, key = create_key(sessions, "case system")
    assert key.startswith("sws_") and len(key) > 40 and key not in record.key_hash
    assert find_key(sessions, key).id == record.id
    assert find_key(sessions, key + "x") is None


def test_migrations_keep_existing_rows(database_url, sessions):
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    upgrade(database_url)  # again: a no-op that must not touch data
    assert jobs.get_job(sessions, job.id).filename == "möte.wav"
    assert {"jobs", "api_keys", "alembic_version"} <= set(inspect(get_engine(database_url)).get_table_names())


def _silence(sessions, job_id, seconds):
    """Move the job's last heartbeat `seconds` into the past, as a worker that died would leave it."""
    with sessions() as session:
        session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow() - timedelta(seconds=seconds)))
        session.commit()


def test_a_running_job_is_taken_over_only_when_its_worker_may_be_gone(sessions):
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    first = jobs.start_attempt(sessions, job.id, "host/ns/1")
    assert (first.worker, first.attempts) == ("host/ns/1", 1) and first.heartbeat_at is not None
    assert jobs.start_attempt(sessions, job.id, "host/ns/2", lambda running: False) is None, "a duplicate message"
    assert jobs.heartbeat(sessions, job.id, 1)
    second = jobs.start_attempt(sessions, job.id, "host/ns/2", lambda running: running.worker == "host/ns/1")
    assert (second.worker, second.attempts) == ("host/ns/2", 2)
    assert not jobs.heartbeat(sessions, job.id, 1), "the first attempt learns it lost the job"
    assert not jobs.complete_job(sessions, job.id, "jobs/x/transcript.json", 4.0, {}, attempt=1)
    assert jobs.complete_job(sessions, job.id, "jobs/x/transcript.json", 4.0, {}, attempt=2)


def test_a_lost_job_is_taken_back_once_and_not_after_a_heartbeat(sessions):
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    started = jobs.start_attempt(sessions, job.id, "host/ns/1")
    cutoff = utcnow() - timedelta(seconds=60)
    assert not jobs.requeue_lost(sessions, started, silent_since=cutoff), "its heartbeat is fresh"
    _silence(sessions, job.id, 120)
    assert jobs.requeue_lost(sessions, started, silent_since=cutoff)
    assert not jobs.requeue_lost(sessions, started, silent_since=cutoff), "at most once per attempt"
    back = jobs.get_job(sessions, job.id)
    assert (back.status, back.stage, back.worker, back.attempts) == ("queued", "requeued", None, 1)


def test_a_queued_job_is_sent_again_by_one_caller_only(sessions):
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    cutoff = utcnow() - timedelta(seconds=60)

    def sent_before_cutoff() -> list[str]:
        return [job_id for job_id, sent_at, _ in jobs.queued_jobs(sessions) if sent_at < cutoff]

    assert sent_before_cutoff() == [], "just sent"
    with sessions() as session:
        session.execute(update(Job).where(Job.id == job.id).values(enqueued_at=utcnow() - timedelta(seconds=600)))
        session.commit()
    assert sent_before_cutoff() == [job.id]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(lambda _: jobs.mark_sent(sessions, job.id, cutoff), range(4)))
    assert sum(claims) == 1 and sent_before_cutoff() == []


def _reconcile(sessions, in_broker=(), stale_after_s=60.0, resend_after_s=60.0, queue=GPU_QUEUE):
    """A pass with the tickets of `in_broker` waiting in `queue`; the ids sent again."""
    sent: list[str] = []
    tickets = BrokerTickets({job_id: math.inf for job_id in in_broker}, {queue: list(in_broker)})
    result = reconcile(sessions, _collect(sent), lambda: tickets, ReconcileOptions(stale_after_s, resend_after_s))
    return result, sent


def _collect(sent: list[str]):
    return lambda job_id, _priority: sent.append(job_id)


def _held(seen: dict[str, float]) -> BrokerTickets:
    return BrokerTickets(seen, {})


def test_reconcile_takes_back_silent_and_dead_workers_jobs_once(sessions):
    live, silent, dead = (jobs.create_job(sessions, new_job(), new_id())[0] for _ in range(3))
    jobs.start_attempt(sessions, live.id, current_worker())
    jobs.start_attempt(sessions, silent.id, "elsewhere/pid:[1]/7")
    _silence(sessions, silent.id, 300)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    jobs.start_attempt(sessions, dead.id, current_worker().rsplit("/", 1)[0] + f"/{ended.pid}")  # fresh heartbeat
    result, sent = _reconcile(sessions)
    assert sorted(result.taken_back) == sorted([silent.id, dead.id]) and sorted(sent) == sorted(result.taken_back)
    assert jobs.get_job(sessions, live.id).status == "running"
    assert _reconcile(sessions)[1] == [], "sent once; they now wait in the queue"


def test_reconcile_resends_queued_jobs_the_broker_has_lost(sessions):
    lost, waiting, fresh = (jobs.create_job(sessions, new_job(), new_id())[0] for _ in range(3))
    with sessions() as session:
        old = utcnow() - timedelta(seconds=600)
        session.execute(update(Job).where(Job.id.in_([lost.id, waiting.id])).values(enqueued_at=old))
        session.commit()
    result, sent = _reconcile(sessions, in_broker={waiting.id})
    assert result.resent == sent == [lost.id], "the waiting one's message is in the broker, the fresh one was just sent"
    assert _reconcile(sessions, in_broker={waiting.id})[1] == [], "sent again at most once per bound"
    # At `swescribe up` start (no bound): every queued job without a message, the fresh one too.
    assert sorted(_reconcile(sessions, in_broker={waiting.id}, resend_after_s=0)[1]) == sorted([fresh.id, lost.id])


def test_a_waiting_message_of_a_job_that_ran_in_a_batch_stands_in_for_a_queued_job(sessions):
    """Messages are tickets: one whose job already ran (in another's batch) will run a queued
    job, so only the queued jobs beyond the spare tickets are sent again."""
    ran, deleted_id = (jobs.create_job(sessions, new_job(), new_id())[0] for _ in range(2))
    lost = [jobs.create_job(sessions, new_job(), new_id())[0] for _ in range(3)]
    jobs.start_attempt(sessions, ran.id, current_worker())
    jobs.delete_job(sessions, deleted_id.id)
    with sessions() as session:
        session.execute(update(Job).where(Job.id.in_([j.id for j in lost])).values(enqueued_at=utcnow() - timedelta(seconds=600)))
        session.commit()
    result, sent = _reconcile(sessions, in_broker={ran.id, deleted_id.id})
    assert len(sent) == 1 and sent[0] in {j.id for j in lost}, "two spare tickets cover two of the three"
    # Once those tickets are spent, the others are sent too (the one just sent is not due again yet).
    result, sent = _reconcile(sessions, in_broker={})
    assert len(sent) == 2 and set(sent) | set(result.resent) <= {j.id for j in lost}


def test_a_spare_ticket_stands_in_only_for_jobs_of_its_own_lane(sessions):
    """A ticket waiting in the bulk lane's queue runs bulk jobs only (on a worker that serves
    that lane alone): it does not make up for a lost upload's ticket, nor the reverse."""
    ran = jobs.create_job(sessions, new_job(), new_id())[0]
    jobs.start_attempt(sessions, ran.id, current_worker())
    upload = jobs.create_job(sessions, new_job(), new_id())[0]
    bulk = jobs.create_job(sessions, new_job(), new_id())[0]
    with sessions() as session:
        old = utcnow() - timedelta(seconds=600)
        session.execute(update(Job).where(Job.id == upload.id).values(enqueued_at=old))
        session.execute(update(Job).where(Job.id == bulk.id).values(enqueued_at=old, priority=Priority.bulk))
        session.commit()
    result, sent = _reconcile(sessions, in_broker={ran.id}, queue=BULK_QUEUE)
    assert sent == [upload.id], "the spare bulk ticket covers the bulk job, not the upload"
    sent_to: list[tuple[str, int]] = []
    upload_waits = BrokerTickets({upload.id: math.inf}, {GPU_QUEUE: [upload.id]})  # the ticket just sent
    reconcile(
        sessions, lambda job_id, priority: sent_to.append((job_id, priority)), lambda: upload_waits, ReconcileOptions(60, 0)
    )
    assert sent_to == [(bulk.id, Priority.bulk)], "sent again with its priority, so to its lane's queue"


def test_the_liveness_migration_keeps_rows_from_before_it(database_url):
    upgrade(database_url, "0004")
    sessions = session_factory(database_url)
    with get_engine(database_url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO jobs (id, owner, status, progress, options, filename, audio_key, audio_sha256, audio_size_bytes,"
                " timings_s, attempts, created_at, started_at, summary_status, summary_attempts)"
                " VALUES ('old1', 'k1', 'running', 0.5, '{}', 'a.wav', 'jobs/old1/audio.wav', :sha, 10, '{}', 1, :t, :t, 'none', 0)"
            ),
            {"sha": "0" * 64, "t": utcnow() - timedelta(hours=2)},
        )
    upgrade(database_url)
    columns = {c["name"] for c in inspect(get_engine(database_url)).get_columns("jobs")}
    assert {"enqueued_at", "worker", "heartbeat_at"} <= columns
    old = jobs.get_job(sessions, "old1")
    assert (old.worker, old.heartbeat_at, old.enqueued_at) == (None, None, None)
    result, sent = _reconcile(sessions)
    assert result.taken_back == sent == ["old1"], "silent since it started, two hours ago"


def test_a_message_a_dead_worker_still_holds_does_not_count(sessions):
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    jobs.start_attempt(sessions, job.id, "elsewhere/pid:[1]/7")
    _silence(sessions, job.id, 300)
    held_since = (utcnow() - timedelta(seconds=400)).timestamp()  # delivered to the worker that died
    sent: list[str] = []
    options = ReconcileOptions(stale_after_s=60, resend_after_s=0)
    assert reconcile(sessions, _collect(sent), lambda: _held({job.id: held_since}), options).taken_back == [job.id]
    assert reconcile(sessions, _collect(sent), lambda: _held({job.id: held_since}), options).resent == [job.id]
    later = utcnow().timestamp() + 1  # the re-sent message, now held by a live worker
    assert reconcile(sessions, _collect(sent), lambda: _held({job.id: later}), options).resent == []


def test_a_queued_job_whose_message_a_worker_took_and_died_with_is_sent_again(sessions):
    # Taken after the job was sent (reserved by a worker killed before it started the job): the
    # message sits in the unacked set for the visibility timeout, the job stays queued.
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    with sessions() as session:
        session.execute(update(Job).where(Job.id == job.id).values(enqueued_at=utcnow() - timedelta(seconds=600)))
        session.commit()
    options = ReconcileOptions(stale_after_s=60, resend_after_s=60)
    sent: list[str] = []
    taken_recently = (utcnow() - timedelta(seconds=10)).timestamp()
    assert reconcile(sessions, _collect(sent), lambda: _held({job.id: taken_recently}), options).resent == []
    taken_long_ago = (utcnow() - timedelta(seconds=300)).timestamp()  # after the sending, past the bound
    assert reconcile(sessions, _collect(sent), lambda: _held({job.id: taken_long_ago}), options).resent == [job.id]
    assert sent == [job.id]
