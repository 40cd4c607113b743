"""Queueing the challenges app's tasks, for its domain code.

`challenges.tasks` imports the domain, so the domain cannot import the tasks: it queues them
here, by the name they are registered under, with Celery's public `send_task`. Celery's
current app is the project's (`verify_platform.celery`, loaded with Django, which makes it the
default of every thread), so this module needs no import of the app object either.

Each message carries the id of the API request that led to it (`request_context.HEADER`),
also when a task queues the next step, so the worker's lines can be matched with the call.

A delivery attempt row is its own outbox: a failed enqueue is logged and left to the sweeper
(`delivery_attempt_sweep`), never raised into the request that committed the row.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from celery import current_app
from django.db import transaction

from verify_platform.lib import request_context
from verify_platform.lib.queueing import left_to_sweeper

logger = logging.getLogger("challenges.delivery")

# The name `challenges.tasks.delivery_attempt_send_task` is registered under; messages
# already queued carry it, so it does not change with the code.
DELIVERY_ATTEMPT_SEND = "challenges.delivery_attempt_send"


def delivery_attempt_enqueue(attempt_sid: str, eta: datetime | None) -> None:
    """Queue the send of one delivery attempt, at `eta` or, with None, now.

    The caller passes None for a step that is already due: Celery holds every ETA task in the
    worker's memory and hands it to the pool through a timer, even one already due, which
    costs each send milliseconds of worker time."""
    with left_to_sweeper(logger, "attempt %s", attempt_sid):
        # `argsrepr` (Celery's documented option for the arguments' text in the message's
        # headers): an id's repr, spared Celery's generic `saferepr` walk.
        current_app.send_task(
            DELIVERY_ATTEMPT_SEND,
            args=[attempt_sid],
            eta=eta,
            argsrepr=repr([attempt_sid]),
            kwargsrepr="{}",
            headers=request_context.task_headers(),
        )


def delivery_attempt_enqueue_on_commit(
    attempt_sid: str, eta: datetime | None, *, using: str | None = None
) -> None:
    """`delivery_attempt_enqueue` once the current transaction commits (at once outside
    one): a worker must not look for a row it cannot see yet, and a rolled-back attempt is
    never queued."""
    transaction.on_commit(partial(delivery_attempt_enqueue, attempt_sid, eta), using=using)


# The name the push notification task (`challenges.push_tasks`) is registered under.
PUSH_NOTIFY = "challenges.push_notify"


def push_notify_enqueue_on_commit(challenge_sid: str, ttl: int | None) -> None:
    """Queue the notification of a push challenge once the current transaction commits: the
    worker reads the challenge, its factor's notification target and the service's provider
    credential, and sends through the factor platform's adapter. `ttl` (seconds) is how long
    the provider may hold the notification; None means until the challenge expires."""

    def enqueue() -> None:
        with left_to_sweeper(logger, "push of challenge %s", challenge_sid):
            current_app.send_task(
                PUSH_NOTIFY,
                args=[challenge_sid, ttl],
                argsrepr=repr([challenge_sid, ttl]),
                kwargsrepr="{}",
                headers=request_context.task_headers(),
            )

    transaction.on_commit(enqueue)
