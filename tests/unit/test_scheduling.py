"""The gpu workers' scheduler on SQLite and PostgreSQL: priority, tenants' turns, which short
jobs share a batch, how long a lone job waits, and that concurrent claims never overlap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workers.runners.scheduling import BatchPolicy, Scheduler, choose_tenant, fill, lane_priorities, recognition_key
from workers.settings import Settings
from workers.store import jobs, queue
from workers.store.db import Job, JobStatus, Priority, new_id, utcnow

SETTINGS = Settings(_env_file=None)


def add(sessions, tenant="t1", priority=Priority.bulk, duration_s=3.0, options=None, created_offset_s=0.0) -> str:
    job_id = new_id()
    new = jobs.NewJob(
        owner="k-" + tenant,
        filename=f"{job_id}.wav",
        audio_key=f"jobs/{job_id}/audio.wav",
        audio_sha256="0" * 64,
        audio_size_bytes=1,
        duration_s=duration_s,
        options=options or {},
        tenant_id=tenant,
        priority=priority,
    )
    jobs.create_job(sessions, new, job_id)
    if created_offset_s:
        with sessions() as session:
            job = session.get(Job, job_id)
            job.created_at = job.created_at + timedelta(seconds=created_offset_s)
            job.enqueued_at = job.created_at
            session.commit()
    return job_id


class FakeClock:
    """A clock that only moves when the scheduler sleeps; `on_sleep` runs at each sleep."""

    def __init__(self, on_sleep=None):
        self.now, self.slept, self.on_sleep = 0.0, [], on_sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep()


def scheduler(sessions, worker="w1", clock=None, lane="all", **policy) -> Scheduler:
    clock = clock or FakeClock()
    priorities = lane_priorities(lane)
    return Scheduler(sessions, SETTINGS, BatchPolicy(**policy), worker, priorities, clock=clock, sleep=clock.sleep)


def test_a_normal_upload_runs_before_older_bulk_files(sessions):
    for i in range(5):
        add(sessions, tenant="bulky", duration_s=60.0, created_offset_s=-100 + i)
    upload = add(sessions, tenant="other", priority=Priority.normal, duration_s=60.0)
    taken = scheduler(sessions).take()
    assert [j.id for j in taken] == [upload]
    assert taken[0].status == JobStatus.running and taken[0].worker == "w1"


def test_a_worker_of_one_lane_runs_only_that_lanes_jobs(sessions):
    bulk = [add(sessions, tenant="bulky", created_offset_s=-100 + i) for i in range(3)]
    upload = add(sessions, tenant="other", priority=Priority.normal)
    assert [j.id for j in scheduler(sessions, lane="bulk", max_clip_s=0).take()] == bulk[:1], "though an upload waits"
    assert [j.id for j in scheduler(sessions, lane="normal").take()] == [upload]
    assert scheduler(sessions, lane="normal").take() == [], "no upload left; the bulk files are not its lane's"
    assert {j.id for j in scheduler(sessions, lane="all").take()} == set(bulk[1:])


def test_tenants_take_turns_and_a_backlog_holds_another_tenant_back_by_one_batch_at_most(sessions):
    backlog = [add(sessions, tenant="a-big", created_offset_s=-1000 + i) for i in range(40)]
    late = add(sessions, tenant="b-small")
    first = scheduler(sessions, windows=1).take()
    # Neither was served: a-big leads by name, and its older files fill the window.
    assert first[0].tenant_id == "a-big" and late not in {j.id for j in first}
    second = scheduler(sessions, windows=1).take()
    assert second[0].id == late, "the other tenant leads the very next batch"
    third = scheduler(sessions, windows=1).take()
    assert {j.tenant_id for j in third} == {"a-big"}
    assert len({j.id for j in first + second + third}) == len(first) + len(second) + len(third)
    assert all(j.id in backlog for j in first + third)


def test_short_jobs_fill_the_windows_and_the_batch_is_recorded(sessions):
    ids = [add(sessions, duration_s=4.0, created_offset_s=-50 + i) for i in range(20)]
    taken = scheduler(sessions, windows=2).take()
    # 4 s clips with 1 s gaps: five clips and their gaps in each 28 s window, two windows.
    assert [j.id for j in taken] == ids[:10]
    batch = {j.batch_id for j in taken}
    assert len(batch) == 1 and None not in batch
    with sessions() as session:
        stored = {j.id: j for j in session.query(Job).filter(Job.id.in_(ids))}
    assert {stored[i].batch_id for i in ids[:10]} == batch
    assert all(stored[i].status == JobStatus.queued and stored[i].batch_id is None for i in ids[10:])
    # The lead is claimed last, so its tenant counts as served when it was.
    assert max(stored[i].started_at for i in ids[:10]) == stored[ids[0]].started_at


def test_only_jobs_with_the_same_recognition_options_share_a_batch(sessions):
    lead = add(sessions, created_offset_s=-10)
    english = add(sessions, options={"language": "en"}, created_offset_s=-9)
    prompted = add(sessions, options={"prompt": "Malmö tingsrätt"}, created_offset_s=-8)
    long = add(sessions, duration_s=45.0, created_offset_s=-7)
    unknown = add(sessions, duration_s=None, created_offset_s=-6)
    same = add(sessions, options={"diarize": True, "redact": True}, created_offset_s=-5)
    taken = scheduler(sessions, windows=4).take()
    assert [j.id for j in taken] == [lead, same]
    assert {english, prompted, long, unknown}.isdisjoint(j.id for j in taken)


def test_a_long_recording_runs_alone_without_waiting(sessions):
    long = add(sessions, duration_s=120.0, created_offset_s=-10)
    add(sessions, duration_s=3.0)
    clock = FakeClock()
    taken = scheduler(sessions, clock=clock).take()
    assert [j.id for j in taken] == [long] and taken[0].batch_id is None
    assert clock.slept == []


def test_a_lone_short_job_waits_at_most_the_bound_then_runs_alone(sessions):
    lone = add(sessions)
    clock = FakeClock()
    taken = scheduler(sessions, clock=clock, wait_s=0.25, poll_s=0.05).take()
    assert [j.id for j in taken] == [lone] and taken[0].batch_id is None
    assert 0 < sum(clock.slept) <= 0.25 + 1e-9


def test_a_job_that_arrives_while_a_lone_job_waits_joins_its_batch(sessions):
    lone = add(sessions, created_offset_s=-1)
    arrived: list[str] = []
    clock = FakeClock(on_sleep=lambda: arrived.append(add(sessions)) if not arrived else None)
    taken = scheduler(sessions, clock=clock, wait_s=0.25).take()
    assert [j.id for j in taken] == [lone, *arrived]
    assert sum(clock.slept) <= 0.25 + 1e-9


def test_a_full_batch_does_not_wait(sessions):
    for i in range(30):
        add(sessions, created_offset_s=-100 + i)
    clock = FakeClock()
    taken = scheduler(sessions, clock=clock, windows=1).take()
    assert len(taken) == 7 and clock.slept == []


def test_a_job_waiting_for_its_retry_is_not_taken_before_it_is_due(sessions):
    waiting = add(sessions, duration_s=60.0)
    assert jobs.start_attempt(sessions, waiting, "w0")
    jobs.requeue_job(sessions, waiting, "retrying: hub down", retry_in_s=60)
    assert scheduler(sessions).take() == []
    assert queue.waiting_levels(sessions, utcnow() + timedelta(seconds=61)) == [(Priority.bulk, "t1")]


def test_two_workers_never_claim_the_same_job(sessions):
    ids = {add(sessions, created_offset_s=-100 + i) for i in range(12)}
    first = scheduler(sessions, worker="w1", windows=1).take()
    second = scheduler(sessions, worker="w2", windows=1).take()
    assert first and second
    assert {j.id for j in first}.isdisjoint(j.id for j in second)
    assert {j.id for j in first} | {j.id for j in second} <= ids
    # A claim of a job another worker already runs fails.
    assert queue.claim(sessions, first[0].id, "w2", None) is None


def test_nothing_queued_gives_nothing(sessions):
    assert scheduler(sessions).take() == []


@pytest.mark.parametrize("max_clip_s", [0.0])
def test_batching_can_be_switched_off(sessions, max_clip_s):
    add(sessions, created_offset_s=-2)
    add(sessions)
    taken = scheduler(sessions, max_clip_s=max_clip_s).take()
    assert len(taken) == 1


def test_choose_tenant_prefers_never_served_then_longest_ago():
    now = utcnow()
    served = {"a": now, "b": now - timedelta(seconds=5), "c": None}
    assert choose_tenant(["a", "b", "c"], served) == "c"
    assert choose_tenant(["a", "b"], served) == "b"
    assert choose_tenant(["b2", "b1"], {"b1": None, "b2": None}) == "b1"


def test_fill_and_key_without_a_database():
    def job(duration_s, **options) -> Job:
        return Job(id=new_id(), duration_s=duration_s, options=options)

    lead = job(10.0)
    others = [job(10.0), job(10.0, hotwords="Tjörn"), job(10.0), job(10.0)]
    chosen, full = fill(lead, others, BatchPolicy(windows=1), lambda j: recognition_key(j, SETTINGS))
    # 10 + 1 + 10 fits 28 s; the third clip would not.
    assert chosen == [lead, others[0]] and full
    chosen, full = fill(lead, others[:2], BatchPolicy(windows=4), lambda j: recognition_key(j, SETTINGS))
    assert chosen == [lead, others[0]] and not full
    assert recognition_key(job(None), SETTINGS) is None
    assert recognition_key(Job(id="x", duration_s=3.0, options={"nonsense": 1}), SETTINGS) is None


def test_a_lower_clip_limit_keeps_the_windows_full_length(sessions):
    ids = [add(sessions, duration_s=4.0, created_offset_s=-50 + i) for i in range(8)]
    taken = scheduler(sessions, windows=1, max_clip_s=5.0).take()
    # Five 4 s clips and their gaps fill one 28 s window, as with the default limit.
    assert [j.id for j in taken] == ids[:5]
