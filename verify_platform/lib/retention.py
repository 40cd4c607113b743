"""What the retention sweeps share: the `VERIFY_RETENTION` settings and the batch loop.

Every kind of row that grows with traffic (events, challenges, verifications and their
delivery attempts, webhook deliveries, phone factors' codes) is deleted by its own app's
sweep (`challenges.domain.retention`, `services.retention`) once it is older than its
setting. A sweep works in batches: one short statement (or transaction) per batch that takes
at most `BATCH_SIZE` of the oldest rows with `FOR UPDATE SKIP LOCKED`, so a row a request is
working on is skipped rather than waited for, and nothing a request needs is held for long;
at most `MAX_BATCHES` batches per kind and run, so one run is bounded in time and the next
run carries on where it stopped.

Settings are read at call time (tests and operators change them without a restart).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from django.conf import settings

DEFAULTS: dict[str, int] = {
    # Days a row is kept after it was created; 0 keeps that kind of row forever.
    "EVENTS_DAYS": 90,
    "CHALLENGES_DAYS": 90,
    "VERIFICATIONS_DAYS": 30,
    "ATTEMPTS_DAYS": 30,
    "WEBHOOK_DELIVERIES_DAYS": 30,
    "FACTOR_CODES_DAYS": 7,
    # Days after which a verification's destination is kept masked only; 0 never masks.
    # Not below ATTEMPTS_DAYS by default: the Attempts API reads an attempt's country from
    # the destination, which a mask no longer tells.
    "REDACT_DESTINATIONS_DAYS": 30,
    "BATCH_SIZE": 1000,
    "MAX_BATCHES": 100,
}


def values() -> Mapping[str, int]:
    return {**DEFAULTS, **getattr(settings, "VERIFY_RETENTION", {})}


def cutoff(name: str, now: datetime) -> datetime | None:
    """The creation time before which rows of setting `name` go; None keeps them all."""
    days = int(values()[name])
    return now - timedelta(days=days) if days > 0 else None


def batch_size() -> int:
    return max(1, int(values()["BATCH_SIZE"]))


def run_batches(batch: Callable[[int], int], *, limit: int | None = None) -> int:
    """Call `batch(limit)` until it handles fewer rows than `limit` (nothing is left) or
    `MAX_BATCHES` calls have run; the total handled. Each call is its own transaction, so a
    run that stops half-way keeps what it did."""
    size = batch_size() if limit is None else limit
    total = 0
    for _ in range(max(1, int(values()["MAX_BATCHES"]))):
        done = batch(size)
        total += done
        if done < size:
            break
    return total
