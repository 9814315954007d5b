"""Prometheus metrics computed at scrape time from the job database and the broker.

Workers run in other processes (often on other hosts), so the database is where their work
is visible; counting there keeps every API replica's figures identical.
"""

from __future__ import annotations

import functools
import logging

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy.orm import sessionmaker

from workers.store import jobs
from workers.tasks.names import BULK_QUEUE, CPU_QUEUE, GPU_QUEUE

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
        audio_by_tenant = CounterMetricFamily(
            "swescribe_tenant_audio_hours", "Hours of audio in the tenant's completed jobs", labels=["tenant"]
        )
        stages = CounterMetricFamily(
            "swescribe_stage_duration_seconds", "Time spent per pipeline stage, completed jobs", labels=["stage"]
        )
        energy_by_tenant = CounterMetricFamily(
            "swescribe_tenant_energy_watt_hours",
            "Energy of the tenant's completed jobs in Wh, measured (RAPL, NVML) or estimated: see each job's energy_source",
            labels=["tenant"],
        )
        stage_cpu = CounterMetricFamily(
            "swescribe_stage_cpu_seconds",
            "CPU seconds of the worker process per pipeline stage, completed jobs",
            labels=["stage"],
        )
        stage_gpu = CounterMetricFamily(
            "swescribe_stage_gpu_seconds", "Seconds a stage ran on the GPU, completed jobs", labels=["stage"]
        )
        # A few rows of running totals and a count of the unfinished jobs (jobs.job_figures),
        # never a row per job: bench/db measures it at a million jobs. Audio and stage seconds
        # are counters: a deleted job's stay in them.
        figures = jobs.job_figures(self.sessions)
        for status, count in figures.by_status.items():
            by_status.add_metric([status], count)
        audio.add_metric([], figures.audio_s)
        for tenant, seconds in sorted(figures.audio_s_by_tenant.items()):
            audio_by_tenant.add_metric([tenant], seconds / 3600)
        for stage, seconds in sorted(figures.stage_s.items()):
            stages.add_metric([stage], seconds)
        for tenant, wh in sorted(figures.energy_wh_by_tenant.items()):
            energy_by_tenant.add_metric([tenant], wh)
        for stage, seconds in sorted(figures.stage_cpu_s.items()):
            stage_cpu.add_metric([stage], seconds)
        for stage, seconds in sorted(figures.stage_gpu_s.items()):
            stage_gpu.add_metric([stage], seconds)
        yield from (by_status, audio, audio_by_tenant, stages, energy_by_tenant, stage_cpu, stage_gpu)

        depth = GaugeMetricFamily("swescribe_queue_depth", "Tasks waiting in the broker", labels=["queue"])
        try:
            client = broker_client(self.redis_url)
            for queue in (GPU_QUEUE, BULK_QUEUE, CPU_QUEUE):
                depth.add_metric([queue], client.llen(queue))
        except redis.RedisError as e:
            logger.warning("queue depth unavailable: %s", e)
        yield depth
