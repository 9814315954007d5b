"""What a gpu worker runs next, whichever job's ticket it took (workers/store/queue.py).

- Priority first: a normal job (an upload) runs before any bulk job (folder ingestion). A
  worker may serve one lane only (settings.gpu_lane): then the other lane's jobs are left to
  the workers of that lane, and an upload never waits for a bulk batch in front of it.
- Within a priority, tenants take turns: the tenant served longest ago (its newest start is
  the oldest) leads the next batch, its oldest job first. One tenant's 10,000-file backlog
  therefore holds back another tenant's recording by at most the batch in progress.
- Short recordings (at most `max_clip_s`) are packed with other queued short recordings of
  the same priority that share the lead's recognition options (model, language, prompt,
  hotwords), up to `windows` packed windows, oldest first. A lead with no company waits at
  most `wait_s` for some to arrive.

The jobs are claimed with guarded updates, the lead last: the lead's tenant is then the one
served most recently, so the next batch goes to another tenant's lead when one waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import sessionmaker

from workers.intake.options import JobOptions
from workers.pipeline.batch import PackingOptions, pack
from workers.settings import Settings
from workers.store import queue
from workers.store.db import Job, Priority, new_id, utcnow

logger = logging.getLogger(__name__)

# Candidates looked at per batch, beyond which the queue's order is not searched for company.
CANDIDATES_PER_WINDOW = 32
# A lead taken by another worker between choosing and claiming: choose again, this often.
CLAIM_ROUNDS = 5


@dataclass(frozen=True)
class BatchPolicy:
    """How short jobs are batched.

    max_clip_s: a job's recording this short or shorter may share windows (0: none may).
    windows: packed windows per batch.
    wait_s: the longest a short lead with no company waits for some.
    poll_s: how often the queue is looked at while waiting.
    gap_s: silence between packed recordings.
    """

    max_clip_s: float = 28.0
    windows: int = 2
    wait_s: float = 0.25
    poll_s: float = 0.05
    gap_s: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> BatchPolicy:
        return cls(
            max_clip_s=settings.batch_max_clip_s,
            windows=settings.batch_windows,
            wait_s=settings.batch_wait_ms / 1000,
        )

    def packing(self, batch_size: int) -> PackingOptions:
        """How the batch's recordings are packed and decoded: `batch_size` windows at once.
        Windows keep their full length whatever `max_clip_s` admits: a lower limit on the
        recordings must not shrink the windows they share."""
        return PackingOptions(gap_s=self.gap_s, batch_size=batch_size)


RecognitionKey = tuple[str, str, str, str]


def recognition_key(job: Job, settings: Settings) -> RecognitionKey | None:
    """What must agree for two jobs to share windows; None for a job that is decoded alone
    (too long, of unknown length, or with options that no longer parse)."""
    if job.duration_s is None or job.duration_s <= 0:
        return None
    try:
        options = JobOptions.from_stored(job.options or {})
    except ValueError:
        return None
    return (
        options.model or settings.asr_model,
        options.language or settings.asr_language,
        options.prompt or "",
        options.hotwords or "",
    )


def lane_priorities(lane: str) -> tuple[int, ...] | None:
    """The priorities a worker of `lane` (settings.gpu_lane) runs; None: all of them."""
    if lane == "normal":
        return (Priority.normal,)
    if lane == "bulk":
        return tuple(p for p in Priority if p != Priority.normal)
    return None


def choose_tenant(tenants: list[str], served: dict[str, datetime | None]) -> str:
    """The tenant served longest ago; one never served comes first; ties by name."""
    never = datetime.min.replace(tzinfo=utcnow().tzinfo)
    return min(tenants, key=lambda t: (served.get(t) or never, t))


def fill(
    lead: Job, candidates: list[Job], policy: BatchPolicy, key_of: Callable[[Job], RecognitionKey | None]
) -> tuple[list[Job], bool]:
    """The lead and, oldest first, the candidates that share its key and fit the batch's
    windows; True when the batch is full (a candidate that shares the key did not fit)."""
    key = key_of(lead)
    if key is None or policy.max_clip_s <= 0 or (lead.duration_s or 0) > policy.max_clip_s:
        return [lead], True
    chosen = [lead]
    for job in candidates:
        if job.id == lead.id or (job.duration_s or 0) > policy.max_clip_s or key_of(job) != key:
            continue
        durations = [j.duration_s or 0.0 for j in (*chosen, job)]
        if pack(durations, policy.packing(1))[-1].window >= policy.windows:
            return chosen, True
        chosen.append(job)
    return chosen, False


@dataclass(frozen=True)
class Scheduler:
    sessions: sessionmaker
    settings: Settings
    policy: BatchPolicy
    worker: str
    priorities: tuple[int, ...] | None = None  # the lane's (lane_priorities); None: all
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def take(self) -> list[Job]:
        """Claim the next batch (one job, or several short ones decoded together); [] when
        nothing is due."""
        for _ in range(CLAIM_ROUNDS):
            chosen = self._choose()
            if not chosen:
                return []
            claimed = self._claim(chosen)
            if claimed:
                return claimed
        return []

    def _choose(self) -> list[Job]:
        deadline = self.clock() + self.policy.wait_s
        while True:
            now = utcnow()
            levels = queue.waiting_levels(self.sessions, now, self.priorities)
            if not levels:
                return []
            priority = levels[0][0]
            tenants = [tenant for level, tenant in levels if level == priority]
            tenant = choose_tenant(tenants, queue.last_served(self.sessions, tenants))
            leads = queue.oldest_due(self.sessions, priority, now, 1, tenant_id=tenant)
            if not leads:
                continue  # claimed by another worker meanwhile
            limit = CANDIDATES_PER_WINDOW * self.policy.windows
            candidates = queue.oldest_due(self.sessions, priority, now, limit)
            chosen, full = fill(leads[0], candidates, self.policy, self._key)
            if full or self.clock() >= deadline:
                return chosen
            self.sleep(self.policy.poll_s)

    def _key(self, job: Job) -> RecognitionKey | None:
        return recognition_key(job, self.settings)

    def _claim(self, chosen: list[Job]) -> list[Job]:
        lead, company = chosen[0], chosen[1:]
        batch_id = new_id() if company else None
        claimed = [job for job in (queue.claim(self.sessions, j.id, self.worker, batch_id) for j in company) if job]
        lead_job = queue.claim(self.sessions, lead.id, self.worker, batch_id)
        if lead_job is not None:
            claimed.insert(0, lead_job)
        if len(claimed) == 1 and batch_id is not None:
            # The others were taken by another worker: this one is decoded alone after all.
            queue.leave_batch(self.sessions, claimed[0])
        if claimed:
            logger.info("claimed %d job(s)%s", len(claimed), f" as batch {batch_id}" if len(claimed) > 1 else "")
        return claimed
