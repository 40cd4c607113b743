"""Celery entry points for challenges and verifications: thin, take ids, idempotent.

The domain queues a send through `challenges.enqueue` (by this task's registered name), not
through this module, which imports the domain. A duplicate or redelivered
`delivery_attempt_send_task` finds its attempt already claimed or finished and does nothing;
the sweepers re-queue what an ETA task missed.
"""

from __future__ import annotations

import logging

from celery import shared_task

from challenges import domain, push_tasks  # noqa: F401 (push_tasks: the worker registers it)
from challenges.domain import passkeys, retention
from challenges.enqueue import DELIVERY_ATTEMPT_SEND
from factors import domain as factor_domain
from factors.domain import push as factor_push

logger = logging.getLogger("challenges.tasks")


@shared_task
def challenge_expire_sweep_task() -> int:
    """The backstop that writes `expired` (and its event) for challenges nobody read, erases
    the sealed copies of phone codes whose lifetime is over, and deletes enrolments (unverified
    factors) left unfinished for longer than `VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS`, and the
    WebAuthn side rows of passkey challenges and the push access tokens over for a day."""
    return (
        domain.challenge_expire_due()
        + domain.factor_code_expire_due()
        + factor_domain.factors_expire_unverified()
        + passkeys.passkey_challenges_sweep()
        + factor_push.access_tokens_expire()
    )


@shared_task(name=DELIVERY_ATTEMPT_SEND)
def delivery_attempt_send_task(attempt_sid: str) -> str:
    """Queued by name through `challenges.enqueue.delivery_attempt_enqueue`."""
    outcome = domain.delivery_attempt_send(attempt_sid=attempt_sid)
    logger.info("delivery attempt %s: %s", attempt_sid, outcome)
    return outcome


@shared_task(name="challenges.delivery_attempt_sweep")
def delivery_attempt_sweep_task() -> int:
    return len(domain.delivery_attempt_sweep())


@shared_task(name="challenges.verification_expire")
def verification_expire_task() -> int:
    return domain.verification_expire_due()


@shared_task(name="challenges.retention_sweep")
def retention_sweep_task() -> dict[str, int]:
    """Beat: mask old destinations and delete rows past `VERIFY_RETENTION`, in bounded
    batches (`challenges.domain.retention`)."""
    counts = retention.retention_sweep()
    if any(counts.values()):
        logger.info("retention: %s", counts)
    return counts
