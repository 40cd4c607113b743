"""The Celery entry point of push notifications: thin, takes ids, idempotent enough.

Queued by name through `challenges.enqueue.push_notify_enqueue_on_commit`. The logic is in
`challenges.domain.push_delivery`; a temporary provider failure is retried here with
Celery's own retry (bounded count, doubling delay), and each run re-reads the challenge, so
a retry of a challenge answered or expired meanwhile sends nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from challenges.domain import push_delivery
from challenges.enqueue import PUSH_NOTIFY

logger = logging.getLogger("challenges.tasks")


@shared_task(bind=True, name=PUSH_NOTIFY, max_retries=None)
def push_notify_task(self, challenge_sid: str, ttl: int | None = None) -> str:
    max_retries = int(settings.VERIFY_PUSH["MAX_RETRIES"])
    attempt = push_delivery.push_notify(
        challenge_sid=challenge_sid, ttl=ttl, last_try=self.request.retries >= max_retries
    )
    logger.info("push notification %s: %s", challenge_sid, attempt.outcome)
    if attempt.retry:
        delay = push_delivery.retry_delay(self.request.retries, attempt.retry_after)
        raise self.retry(countdown=delay, max_retries=max_retries)
    return attempt.outcome
