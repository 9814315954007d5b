"""Jobs the broker has lost, put back on the queue: what a cpu worker does every
`SWESCRIBE_RECONCILE_INTERVAL_S` and `swescribe up` does when it starts.

Redis only carries messages; the job rows say what must still be done. Two kinds of job are
stuck without help:

- running, but its worker is gone (killed, host down): its message waits in Redis's unacked
  set for the whole visibility timeout (hours). Taken back when its worker is known dead or its
  heartbeat is older than the staleness bound, then sent again.
- queued, but no message for it exists (Redis restarted empty, a send that failed) or only one
  a dead worker took and never started: sent again once its last sending is older than a bound
  and the broker holds no message for it that waits or was taken within the bound, so a job
  waiting its turn in a long queue is not sent twice. Messages are tickets (any one runs the
  job the scheduler picks from its lane), so a job whose own message was spent on a batch it
  was not in is sent again only when the messages still waiting in its lane's queue are fewer
  than the queued jobs.

Every change is a guarded update, so two reconcilers never take back or re-send one job twice,
and a duplicate message is harmless: the runner starts a job only from queued, or from running
when that attempt is abandoned, and completes it only as the attempt that started it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from workers.runners.liveness import last_sign_of_life, silent_since, worker_gone
from workers.store import jobs
from workers.tasks.names import SendTicket, ticket_queue

logger = logging.getLogger(__name__)
# The broker's and the database's clocks (both read on this host or its neighbours) may differ
# this much.
CLOCK_SLACK_S = 2.0


@dataclass(frozen=True)
class ReconcileOptions:
    # A running job with no heartbeat for this long is taken back (its worker is presumed gone).
    stale_after_s: float
    # A queued job with no message in the broker is sent again once it was last sent this long ago.
    resend_after_s: float


@dataclass(frozen=True)
class BrokerTickets:
    """The transcription messages in the broker.

    seen: job id -> when its newest message got where it is, in epoch seconds: infinity while
        it waits in a queue, the delivery time while a worker holds it.
    waiting: queue -> the job ids its waiting messages name.
    """

    seen: dict[str, float]
    waiting: dict[str, list[str]]


@dataclass(frozen=True)
class Reconciled:
    taken_back: list[str]
    resent: list[str]


def reconcile(
    sessions: sessionmaker,
    enqueue: SendTicket,
    jobs_in_broker: Callable[[], BrokerTickets],
    options: ReconcileOptions,
) -> Reconciled:
    """One pass: take back abandoned running jobs, re-send queued jobs that have no message.
    `enqueue` sends the transcription ticket of (job id, priority); `jobs_in_broker` reads the
    broker's transcription messages."""
    taken_back = _take_back_abandoned(sessions, enqueue, options.stale_after_s)
    resent = _resend_lost(sessions, enqueue, jobs_in_broker, options.resend_after_s)
    if taken_back or resent:
        logger.warning(
            "queued again: %d job(s) whose worker was gone %s, %d job(s) with no task in the broker %s",
            len(taken_back),
            taken_back,
            len(resent),
            resent,
        )
    return Reconciled(taken_back, resent)


def _take_back_abandoned(sessions: sessionmaker, enqueue: SendTicket, stale_after_s: float) -> list[str]:
    cutoff = silent_since(stale_after_s)
    taken_back = []
    for job in jobs.running_jobs(sessions):
        if worker_gone(job.worker):
            taken = jobs.requeue_lost(sessions, job)
        elif last_sign_of_life(job) < cutoff:
            taken = jobs.requeue_lost(sessions, job, silent_since=cutoff)
        else:
            continue
        if taken:
            taken_back.append(job.id)
            _send(enqueue, job.id, job.priority)
    return taken_back


def _resend_lost(
    sessions: sessionmaker,
    enqueue: SendTicket,
    jobs_in_broker: Callable[[], BrokerTickets],
    resend_after_s: float,
) -> list[str]:
    cutoff = silent_since(resend_after_s)
    # The rows first, then the broker: a message a worker takes in between is in the unacked
    # set by then, and a job it already started is no longer queued (mark_sent refuses it).
    queued = jobs.queued_jobs(sessions)
    candidates = [(job_id, priority) for job_id, sent_at, priority in queued if sent_at < cutoff]
    if not candidates:
        return []
    tickets = jobs_in_broker()
    in_broker = tickets.seen
    # A message is a ticket for whatever the scheduler picks from its lane (workers/store/queue.py):
    # one waiting for a job that is no longer queued (it ran in another's batch, or was deleted)
    # will run some queued job of its queue's lane instead, so that many of that lane's jobs
    # without a message of their own need none.
    queued_ids = {job_id for job_id, _, _ in queued}
    spare = {queue: _spare(sessions, ids, queued_ids) for queue, ids in tickets.waiting.items()}
    resent = []
    for job_id, priority in candidates:
        # A message waiting in the queue counts. A held one (in the unacked set until the
        # visibility timeout, hours) counts only while it is fresh: a live worker starts a job
        # as soon as it takes its message, so a job still queued whose message was taken over
        # the bound ago had it taken by a worker that died before starting it, whether before
        # or after the job's last sending. Sending again then at worst makes a duplicate,
        # which the runner drops.
        if in_broker.get(job_id, -math.inf) >= cutoff.timestamp() - CLOCK_SLACK_S:
            continue
        lane = ticket_queue(priority)
        if spare.get(lane, 0) > 0:
            spare[lane] -= 1
            continue
        if jobs.mark_sent(sessions, job_id, cutoff):
            resent.append(job_id)
            _send(enqueue, job_id, priority)
    return resent


def _spare(sessions: sessionmaker, waiting: list[str], queued_ids: set[str]) -> int:
    """How many of the waiting tickets name a job that is not queued. Those read as queued a
    moment ago are taken as still queued (at worst one job gets a duplicate ticket, which is
    harmless); only the others (finished, deleted, or queued since the read) are looked up, so a
    pass does not grow with the backlog's size in queries."""
    others = [job_id for job_id in waiting if job_id not in queued_ids]
    return len(others) - jobs.count_queued(sessions, others)


def _send(enqueue: SendTicket, job_id: str, priority: int) -> None:
    try:
        enqueue(job_id, priority)
    except Exception as e:  # noqa: BLE001 - kombu and redis raise many connection error types
        # The job stays queued and is sent again on a later pass.
        logger.warning("job %s: cannot queue its task again yet: %s", job_id, e)
