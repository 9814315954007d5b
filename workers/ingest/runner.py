"""The ingest loop: scan the inbox, take settled files, submit them, wait for their jobs, and
put each outcome in place. One pass (`swescribe ingest DIR`) or for as long as it runs (--watch).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from workers.ingest.claims import Claim, claim_file, load_claims
from workers.ingest.layout import FolderLayout, IngestFolderError, move_no_overwrite
from workers.ingest.names import free_stem, printable, skip_reason, split_name
from workers.ingest.results import ERROR_SUFFIX, OUTBOX_SUFFIXES, REDACTED_AUDIO_SUFFIX, error_text, transcript_outputs
from workers.ingest.settle import FileStat, SettleTracker
from workers.ingest.submit import Submitter, file_sha256
from workers.ingest.summaries import SUMMARY_SUFFIX, SUMMARY_WAITING, stored_summary, stored_summary_key
from workers.intake.submit import QueueUnavailable
from workers.store import jobs
from workers.store.db import Job, JobStatus, SummaryStatus
from workers.store.storage import ObjectNotFound, Storage, StorageError
from workers.summary.render import to_markdown
from workers.transcript.audio import probe_audio
from workers.transcript.errors import AudioDecodeError
from workers.transcript.files import write_atomically
from workers.transcript.formats import SubtitleOptions

logger = logging.getLogger(__name__)

STATUS_QUERY_CHUNK = 500
TAKE_CHUNK = 20
WATCH_ERROR_PAUSE_S = 5.0


def _finished(status: str, summary_status: str | None) -> bool:
    """Failed, or completed with no summary still to come (the two are delivered together)."""
    if status == JobStatus.failed:
        return True
    return status == JobStatus.completed and summary_status not in SUMMARY_WAITING


class SubmitFailed(Exception):
    """Recordings could not be queued (storage or broker unavailable); they stay claimed."""


@dataclass(frozen=True)
class Outcome:
    name: str  # the recording's name in the inbox
    ok: bool
    audio_to: str  # where the recording went, relative to the folder
    detail: str  # the outbox stem, or the reason it failed


@dataclass
class Ingester:
    layout: FolderLayout
    submitter: Submitter
    sessions: sessionmaker
    storage: Storage
    settle_s: float
    on_outcome: Callable[[Outcome], None] = lambda outcome: None
    max_audio_s: float | None = None  # longer recordings go to failed/ (SWESCRIBE_MAX_AUDIO_HOURS)
    subtitles: SubtitleOptions = SubtitleOptions()  # how .srt and .vtt cues are cut (SWESCRIBE_SUBTITLE_*)
    active: dict[str, Claim] = field(default_factory=dict)
    # claim id -> why it could not be submitted yet (retried on the next step)
    unsubmitted: dict[str, str] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tracker = SettleTracker(self.settle_s)
        self._skips_logged: set[str] = set()

    # -- the two ways to run -------------------------------------------------------------

    def run_once(
        self,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval_s: float = 0.5,
        on_started: Callable[[int], None] = lambda total: None,
        between_polls: Callable[[], None] = lambda: None,
    ) -> list[str]:
        """Resume earlier claims, take what in the inbox has settled, wait for every job.
        Returns the names still being written (left for the next run). Raises SubmitFailed
        when recordings could not be queued. `between_polls` runs while jobs are awaited: the
        in-process queues' work, or a check that a worker still consumes the queue (it may
        raise to stop the pass; claims stay in .processing)."""
        self.resume()
        self.take(self.scan(time.monotonic()))  # links and special files; nothing settles on first sight
        names: list[str] = []
        if self.tracker.waiting():
            sleep(self.settle_s)
            names = self.scan(time.monotonic())
        on_started(len(self.active) + len(names))
        for start in range(0, len(names), TAKE_CHUNK):
            if self.unsubmitted:
                break  # the queue or storage is down: the rest stays in the inbox for the next run
            # Finished jobs are delivered while a long batch is still being submitted.
            self.take(names[start : start + TAKE_CHUNK])
            between_polls()
            self.poll()
        if self.unsubmitted:
            raise SubmitFailed(
                f"{len(self.unsubmitted)} recording(s) could not be queued: {next(iter(self.unsubmitted.values()))}; "
                "they stay in .processing and the next run queues them"
            )
        while self.active:
            between_polls()
            self.poll()
            if self.active:
                sleep(poll_interval_s)
        return self.tracker.waiting()

    def watch(
        self, stop: threading.Event, poll_interval_s: float = 1.0, between_steps: Callable[[], None] = lambda: None
    ) -> None:
        """Keep the folder moving until `stop` is set; `between_steps` as run_once's
        between_polls (its errors are logged, not fatal)."""
        self.resume()
        while not stop.is_set():
            try:
                between_steps()
                self.step(time.monotonic())
            except (SQLAlchemyError, StorageError, OSError) as e:
                # The database or a disk being away for a while must not end the watcher;
                # every claim is on disk and is picked up again on the next step.
                logger.error("ingest step failed, trying again: %s", e)
                stop.wait(WATCH_ERROR_PAUSE_S)
            stop.wait(poll_interval_s)

    def step(self, now: float) -> None:
        for claim_id in list(self.unsubmitted):
            if claim_id in self.active:
                self._advance(self.active[claim_id])
        self.take(self.scan(now))
        self.poll()

    # -- the stages ------------------------------------------------------------------------

    def resume(self) -> None:
        for claim in load_claims(self.layout):
            # File names can be personal data: INFO and above name the claim, DEBUG the file.
            logger.info("resuming claim %s", claim.id)
            logger.debug("claim %s is %s", claim.id, printable(claim.name))
            if "plan" in claim.state:
                self._carry_out(claim)
            else:
                self.active[claim.id] = claim
                self._advance(claim)

    def scan(self, now: float) -> list[str]:
        """Names to take now: settled regular files, and links or special files (refused)."""
        stats: dict[str, FileStat] = {}
        refuse: list[str] = []
        with os.scandir(self.layout.inbox) as entries:
            for entry in entries:
                reason = skip_reason(entry.name)
                if reason:
                    self._log_skip(entry.name, reason)
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    self._log_skip(entry.name, "a folder; only files directly in inbox/ are taken")
                elif stat.S_ISREG(info.st_mode):
                    stats[entry.name] = FileStat(info.st_size, info.st_mtime_ns)
                else:
                    refuse.append(entry.name)  # claimed as is, then failed with the reason
        return refuse + self.tracker.observe(stats, now)

    def take(self, names: list[str]) -> None:
        for name in names:
            if self.unsubmitted:
                return  # the queue or storage is down: the rest stays in the inbox meanwhile
            self.tracker.forget(name)
            try:
                claim = claim_file(self.layout, name)
            except FileNotFoundError:
                continue  # removed or renamed meanwhile
            logger.info("took claim %s from the inbox", claim.id)
            logger.debug("claim %s is %s", claim.id, printable(name))
            self.active[claim.id] = claim
            self._advance(claim)

    def _advance(self, claim: Claim) -> None:
        """Hash, probe and submit; a recording that is not audio fails here, without a job.
        The job store, storage or queue being down leaves the claim to be retried."""
        if "sha256" not in claim.state and not self._inspect(claim):
            return
        try:
            job = self.submitter.ensure_job(claim)
            self.submitter.enqueue(claim, job)
        except QueueUnavailable as e:
            self._not_submitted(claim, str(e))
            return
        except StorageError as e:
            self._not_submitted(claim, f"storage unavailable: {e}")
            return
        except SQLAlchemyError as e:
            self._not_submitted(claim, f"job database unavailable: {e}")
            return
        except OSError as e:  # a full disk under storage or the folder
            self._not_submitted(claim, f"cannot write: {e}")
            return
        self.unsubmitted.pop(claim.id, None)

    def _inspect(self, claim: Claim) -> bool:
        """Record the recording's hash and duration; False if it failed (not audio, unreadable)."""
        try:
            info = os.lstat(claim.audio)
            if not stat.S_ISREG(info.st_mode):
                kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
                self._fail(claim, f"{kind}; only regular files are ingested (nothing outside the folder is read)")
                return False
            duration_s = probe_audio(claim.audio, self.max_audio_s)
            sha256, size = file_sha256(claim.audio)
        except AudioDecodeError as e:
            self._fail(claim, f"cannot decode audio: {e.reason}", code=e.code)
            return False
        except OSError as e:
            self._fail(claim, f"cannot read the file: {e.strerror or e}", code="unreadable")
            return False
        claim.update(sha256=sha256, size_bytes=size, duration_s=duration_s)
        return True

    def _not_submitted(self, claim: Claim, reason: str) -> None:
        logger.warning("claim %s: not queued yet: %s", claim.id, reason)
        self.unsubmitted[claim.id] = reason

    def poll(self) -> None:
        """Put the outcome of every claim whose job has finished in place."""
        waiting = {c.state["job_id"]: [] for c in self.active.values() if c.id not in self.unsubmitted and c.state.get("job_id")}
        for claim in self.active.values():
            if claim.state.get("job_id") in waiting and claim.id not in self.unsubmitted:
                waiting[claim.state["job_id"]].append(claim)
        states = self._states(list(waiting))
        for job_id, claims in waiting.items():
            if job_id in states and not _finished(*states[job_id]):
                continue
            job = jobs.get_job(self.sessions, job_id) if job_id in states else None
            for claim in claims:
                if job is None:
                    # Deleted (through the API) while it waited: submitted again.
                    claim.update(job_id=None, new_job_id=None, enqueued=False)
                    self._advance(claim)
                else:
                    self._finish(claim, job)

    def _states(self, ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """job id -> (status, summary status), in one light query per chunk: this runs every poll."""
        found: dict[str, tuple[str, str | None]] = {}
        with self.sessions() as session:
            for start in range(0, len(ids), STATUS_QUERY_CHUNK):
                query = select(Job.id, Job.status, Job.summary_status).where(Job.id.in_(ids[start : start + STATUS_QUERY_CHUNK]))
                for job_id, status, summary_status in session.execute(query):
                    found[job_id] = (status, summary_status)
        return found

    def _finish(self, claim: Claim, job: Job) -> None:
        if job.status == JobStatus.failed:
            self._fail(claim, job.error_message or "the job failed", code=job.error_code, job_id=job.id)
            return
        summary_key = stored_summary_key(job)
        if job.summary_status == SummaryStatus.failed:
            # The code only: the summary error may quote the model's answer.
            logger.warning("claim %s (job %s): no summary: %s", claim.id, job.id, job.summary_error_code)
        try:
            outputs = self._transcript_outputs(job.transcript_key, summary_key, claim.name, job.created_at, job.id)
        except ObjectNotFound:
            self._fail(claim, "the transcript is no longer stored", code="transcript_gone", job_id=job.id)
            return
        stem, suffix = split_name(claim.name)
        out_stem = free_stem(stem, OUTBOX_SUFFIXES, lambda n: os.path.lexists(self.layout.outbox / n))
        done_stem = free_stem(stem, (suffix,), lambda n: os.path.lexists(self.layout.done / n))
        claim.update(
            plan={
                "ok": True,
                "job_id": job.id,
                "transcript_key": job.transcript_key,
                "summary_key": summary_key,
                # The DOCX's date, the same when the outputs are written again on resume.
                "created_at": job.created_at.isoformat() if job.created_at else None,
                "audio_to": f"done/{done_stem}{suffix}",
                "outputs": {s: f"outbox/{out_stem}{s}" for s in outputs},
            }
        )
        self._carry_out(claim, outputs)

    def _fail(self, claim: Claim, reason: str, code: str | None = None, job_id: str | None = None) -> None:
        stem, suffix = split_name(claim.name)
        failed_stem = free_stem(stem, (suffix, ERROR_SUFFIX), lambda n: os.path.lexists(self.layout.failed / n))
        claim.update(
            plan={
                "ok": False,
                "reason": reason,
                "audio_to": f"failed/{failed_stem}{suffix}",
                "outputs": {ERROR_SUFFIX: f"failed/{failed_stem}{ERROR_SUFFIX}"},
                "error_text": error_text(printable(claim.name), reason, code, job_id),
            }
        )
        self._carry_out(claim)

    def _transcript_outputs(
        self, key: str, summary_key: str | None, name: str, created_at: datetime | None = None, job_id: str | None = None
    ) -> dict[str, bytes]:
        summary = stored_summary(self.storage, summary_key) if summary_key else None
        outputs = transcript_outputs(
            self.storage.read_bytes(key).decode("utf-8"),
            os.path.splitext(printable(name))[0],
            summary=summary,
            created_at=created_at,
            subtitles=self.subtitles,
        )
        if summary is not None:
            outputs[SUMMARY_SUFFIX] = to_markdown(summary, printable(name)).encode("utf-8", "surrogateescape")
        if job_id is not None:
            # Absent unless the folder asked for redact_audio.
            with contextlib.suppress(ObjectNotFound):
                outputs[REDACTED_AUDIO_SUFFIX] = self.storage.read_bytes(jobs.redacted_audio_key(job_id))
        return outputs

    def _carry_out(self, claim: Claim, outputs: dict[str, bytes] | None = None) -> None:
        """Write the planned files and move the recording; safe to repeat after a crash."""
        plan = claim.state["plan"]
        if outputs is None:
            try:
                outputs = (
                    self._transcript_outputs(
                        plan["transcript_key"],
                        plan.get("summary_key"),
                        claim.name,
                        _parse_time(plan.get("created_at")),
                        plan.get("job_id"),
                    )
                    if plan["ok"]
                    else {ERROR_SUFFIX: plan["error_text"].encode("utf-8", "surrogateescape")}
                )
            except ObjectNotFound:
                claim.state.pop("plan")
                self._fail(claim, "the transcript is no longer stored", code="transcript_gone", job_id=plan.get("job_id"))
                return
        for suffix, relative in plan["outputs"].items():
            if suffix in outputs:
                write_atomically(self.layout.inside(relative), outputs[suffix])
        self._move_audio(claim, self.layout.inside(plan["audio_to"]))
        claim.remove()
        self.active.pop(claim.id, None)
        self.unsubmitted.pop(claim.id, None)
        outcome = Outcome(
            claim.name, plan["ok"], plan["audio_to"], plan["outputs"].get(".json", "") if plan["ok"] else plan["reason"]
        )
        self.outcomes.append(outcome)
        logger.info("claim %s finished (%s)", claim.id, "done" if plan["ok"] else "failed")
        logger.debug("claim %s: %s -> %s", claim.id, printable(claim.name), plan["audio_to"])
        self.on_outcome(outcome)

    def _move_audio(self, claim: Claim, target) -> None:
        if not os.path.lexists(claim.audio):
            return  # moved before a crash
        if os.path.lexists(target) and os.path.samestat(os.lstat(target), os.lstat(claim.audio)):
            os.unlink(claim.audio)  # linked before a crash, not yet unlinked
            return
        try:
            move_no_overwrite(claim.audio, target)
        except FileExistsError:
            # Something appeared under the planned name meanwhile; never overwrite it.
            stem, suffix = split_name(target.name)
            free = free_stem(stem, (suffix,), lambda n: os.path.lexists(target.parent / n))
            move_no_overwrite(claim.audio, target.parent / f"{free}{suffix}")

    def _log_skip(self, name: str, reason: str) -> None:
        if name not in self._skips_logged:
            self._skips_logged.add(name)
            logger.info("an inbox file was skipped: %s", reason)
            logger.debug("inbox/%s skipped: %s", printable(name), reason)


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


__all__ = ["Ingester", "IngestFolderError", "Outcome", "SubmitFailed"]
