"""Beat tasks for challenges."""

from __future__ import annotations

from celery import shared_task

from challenges import domain


@shared_task
def challenge_expire_sweep_task() -> int:
    """The backstop that writes `expired` (and its event) for challenges nobody read."""
    return domain.challenge_expire_due()
