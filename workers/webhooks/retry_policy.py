"""What to do after each delivery attempt, and when to try again.

Retried: connection errors, timeouts, 429 and 5xx, with exponential backoff and jitter
(so a receiver coming back is not hit by every queued delivery at once), until the delivery
is older than the give-up age (24 h by default). Not retried: other 4xx (the receiver refuses
this message) and 3xx (redirects are never followed: a redirect could point inside the
network). 410 Gone ends the delivery; see delivery.py for what else it stops.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

# Jitter comes from the operating system, not from a seeded generator: Celery forks its pool
# processes from one parent, and a generator made before the fork would give every process
# the same "random" delays, so their retries would land together again.
SYSTEM_RANDOM = random.SystemRandom()


class Outcome(enum.StrEnum):
    delivered = "delivered"
    retry = "retry"
    failed = "failed"
    endpoint_gone = "endpoint_gone"


def classify(status_code: int | None) -> Outcome:
    """status_code None means no HTTP answer (connection error, timeout)."""
    if status_code is None or status_code == 429 or status_code >= 500:
        return Outcome.retry
    if 200 <= status_code < 300:
        return Outcome.delivered
    if status_code == 410:
        return Outcome.endpoint_gone
    return Outcome.failed


@dataclass(frozen=True)
class RetryPolicy:
    """The delay bound starts at first_delay_s and doubles per attempt up to max_delay_s; each
    delay is half the bound plus up to another half at random ("equal jitter": spread out, but
    never a retry right away); no retry is scheduled past give_up_after_s from the first try."""

    first_delay_s: float = 5.0
    max_delay_s: float = 3600.0
    give_up_after_s: float = 24 * 3600.0

    def next_delay_s(self, attempts_made: int, age_s: float, rng: random.Random = SYSTEM_RANDOM) -> float | None:
        """Seconds until the next try after `attempts_made` tries, or None to give up."""
        bound = min(self.max_delay_s, self.first_delay_s * 2 ** max(attempts_made - 1, 0))
        delay = bound / 2 + rng.uniform(0, bound / 2)
        if age_s + delay > self.give_up_after_s:
            return None
        return delay
