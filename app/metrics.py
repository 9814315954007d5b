"""Prometheus metrics computed at scrape time from the job database and the broker.

Workers run in other processes (often on other hosts), so the database is where their work
is visible; counting there keeps every API replica's figures identical.
"""

from __future__ import annotations

import functools
import logging

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from workers.store.db import Job, JobStatus
from workers.tasks.names import CPU_QUEUE, GPU_QUEUE

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def broker_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


class JobMetricsCollector:
    def __init__(self, sessions: sessionmaker, redis_url: str):
        self.sessions, self.redis_url = sessions, redis_url

    def collect(self):
        by_status = GaugeMetricFamily("swescribe_jobs", "Jobs by status", labels=["status"])
        audio = CounterMetricFamily("swescribe_audio_processed_seconds", "Seconds of audio in completed jobs")
        stages = CounterMetricFamily(
            "swescribe_stage_duration_seconds", "Time spent per pipeline stage, completed jobs", labels=["stage"]
        )
        with self.sessions() as session:
            rows = session.execute(select(Job.status, Job.duration_s, Job.timings_s)).all()
        counts = {s.value: 0 for s in JobStatus}
        audio_s, stage_s = 0.0, {}
        for status, duration_s, timings in rows:
            counts[status] = counts.get(status, 0) + 1
            if status == JobStatus.completed:
                audio_s += duration_s or 0.0
                for stage, seconds in (timings or {}).items():
                    stage_s[stage] = stage_s.get(stage, 0.0) + seconds
        for status, count in counts.items():
            by_status.add_metric([status], count)
        audio.add_metric([], audio_s)
        for stage, seconds in sorted(stage_s.items()):
            stages.add_metric([stage], seconds)
        yield from (by_status, audio, stages)

        depth = GaugeMetricFamily("swescribe_queue_depth", "Tasks waiting in the broker", labels=["queue"])
        try:
            client = broker_client(self.redis_url)
            for queue in (GPU_QUEUE, CPU_QUEUE):
                depth.add_metric([queue], client.llen(queue))
        except redis.RedisError as e:
            logger.warning("queue depth unavailable: %s", e)
        yield depth
