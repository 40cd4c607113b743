"""From an outbox event to delivery rows, and one enqueue per transaction.

`services.domain.event_record` calls `deliveries_schedule` inside the caller's transaction,
so the delivery rows commit or roll back with the state change, and no caller of
`event_record` needs to know webhooks exist. The enqueue runs after commit; a transaction
that records several events pays for one broker round trip, not one per event. If the
enqueue is lost (broker down, process killed after commit), the rows stay `pending` and the
sweeper finds them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from services.models import Event, Webhook, WebhookDelivery
from services.webhooks import events
from verify_platform.celery import left_to_sweeper
from verify_platform.lib import clock

logger = logging.getLogger("services.webhooks")


class _EnqueueBatch:
    """The after-commit callback of one transaction; later events add their ids to it."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def __call__(self) -> None:
        if self.ids:
            enqueue(self.ids)


def enqueue(delivery_ids: Iterable[int], *, countdown: float | None = None) -> None:
    """Hand deliveries to a worker now (after commit). A failure here loses nothing: the
    rows are still due and the sweeper enqueues them again."""
    from services.tasks import webhook_deliver_task

    ids = list(delivery_ids)
    if not ids:
        return
    with left_to_sweeper(logger, "%d deliveries to webhooks", len(ids)):
        webhook_deliver_task.apply_async(args=[ids], countdown=countdown)


def enqueue_on_commit(delivery_ids: list[int], *, using: str | None = None) -> None:
    """Add ids to this transaction's single after-commit enqueue (registering it once).

    The batch is found again through the connection's pending after-commit callbacks: if a
    rollback (of the transaction or of the savepoint it was registered in) discarded it, a
    new one is registered, so ids are never attached to a callback that will not run.
    """
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        enqueue(delivery_ids)
        return
    batch = getattr(connection, "_webhook_enqueue_batch", None)
    registered = batch is not None and any(entry[1] is batch for entry in connection.run_on_commit)
    if not registered:
        batch = _EnqueueBatch()
        connection._webhook_enqueue_batch = batch
        transaction.on_commit(batch, using=using, robust=True)
    batch.ids.extend(delivery_ids)


def deliveries_schedule(*, event: Event) -> list[WebhookDelivery]:
    """Create a delivery for every enabled webhook of the event's service that subscribes to
    its type. Call inside the transaction that recorded the event."""
    if not event.service.has_enabled_webhooks:
        return []  # the common case on hot paths: no lookup at all
    webhooks = [
        webhook
        for webhook in Webhook.objects.filter(
            service_id=event.service_id, status=Webhook.Status.ENABLED
        ).only("sid", "event_types")
        if events.matches(webhook.event_types, event.type)
    ]
    if not webhooks:
        return []
    now = clock.current_time()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                webhook=webhook,
                event=event,
                resource_sid=event.resource_sid,
                next_attempt_at=now,
                window_started_at=now,
            )
            for webhook in webhooks
        ]
    )
    enqueue_on_commit([d.pk for d in deliveries])
    return deliveries
