"""Queueing webhook deliveries, for the webhooks' domain code.

`services.tasks` imports the delivery code, so that code cannot import the tasks: it queues
them here, by the name they are registered under, with Celery's public `send_task`. Celery's
current app is the project's (`verify_platform.celery`, loaded with Django, which makes it the
default of every thread), so this module needs no import of the app object either.

Each message carries the id of the API request that led to it (`request_context.HEADER`),
also when a task queues a retry, so the worker's lines can be matched with the call.

A delivery row is its own outbox: a failed enqueue is logged and left to the sweeper
(`deliveries_sweep`), never raised into the request that committed the rows.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery import current_app

from verify_platform.lib import request_context
from verify_platform.lib.queueing import left_to_sweeper

logger = logging.getLogger("services.webhooks")

# The name `services.tasks.webhook_deliver_task` is registered under (Celery's default for
# it); messages already queued carry it, so it does not change with the code.
WEBHOOK_DELIVER = "services.tasks.webhook_deliver_task"


def webhook_deliveries_enqueue(delivery_ids: list[int], eta: datetime | None) -> None:
    """Queue one task for the deliveries `delivery_ids`, at `eta` or, with None, now. An empty
    list queues nothing."""
    if not delivery_ids:
        return
    ids = list(delivery_ids)  # the message, not a list the caller may still change
    with left_to_sweeper(logger, "%d deliveries to webhooks", len(ids)):
        current_app.send_task(
            WEBHOOK_DELIVER,
            args=[ids],
            eta=eta,
            argsrepr=repr([ids]),
            kwargsrepr="{}",
            headers=request_context.task_headers(),
        )
