"""How long a tenant's content is kept: its own values, or the operator's defaults."""

from __future__ import annotations

from dataclasses import dataclass

from workers.store.db import Tenant


@dataclass(frozen=True)
class Retention:
    audio_hours: int  # after the job finished and its webhook deliveries settled
    results_days: int  # after the job finished; 0 keeps transcripts and summaries
    audio_hours_default: bool = True
    results_days_default: bool = True


def for_tenant(tenant: Tenant, default_audio_hours: int, default_results_days: int) -> Retention:
    return Retention(
        audio_hours=default_audio_hours if tenant.retention_audio_hours is None else tenant.retention_audio_hours,
        results_days=default_results_days if tenant.retention_results_days is None else tenant.retention_results_days,
        audio_hours_default=tenant.retention_audio_hours is None,
        results_days_default=tenant.retention_results_days is None,
    )
