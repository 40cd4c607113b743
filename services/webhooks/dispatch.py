"""From an outbox event to delivery rows, and their enqueue after commit.

Every event is stored by one statement that also inserts its deliveries (`services/sql.py`):
on its own by `services.domain.event_record`, inside the caller's transaction, or as the tail
of a change written as one statement (`challenges/sql.py`). Either way the statement returns
the new deliveries' ids, which `Outbox.stored` queues once the transaction commits. If the
enqueue is lost (broker down, process killed after commit), the rows stay `pending` and the
sweeper finds them.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from services.models import Event, WebhookDelivery
from services.webhooks.enqueue import webhook_deliveries_enqueue
from verify_platform.lib import clock


def enqueue(delivery_ids: list[int], *, countdown: float | None = None) -> None:
    """Hand deliveries to a worker now, or `countdown` seconds from now."""
    eta = None if countdown is None else timezone.now() + timedelta(seconds=countdown)
    webhook_deliveries_enqueue(list(delivery_ids), eta)


def enqueue_on_commit(delivery_ids: list[int]) -> None:
    """Hand deliveries to a worker once the current transaction commits (now outside one):
    a worker must not look for rows it cannot see yet, and rolled-back rows are never
    queued. One enqueue per stored event: a transaction rarely stores more than one."""
    if delivery_ids:
        transaction.on_commit(partial(enqueue, list(delivery_ids)), robust=True)


class Outbox:
    """An event to store in the statement of its change: `params()` fills the outbox CTEs of
    `services/sql.py`; `stored()` takes the delivery ids the statement returned."""

    def __init__(self, event: Event) -> None:
        self.event = event

    def params(self) -> dict[str, Any]:
        event = self.event
        now = clock.current_time()
        event.date_created = now
        return {
            "event_sid": event.sid,
            "event_account": event.account_id,
            "event_service": event.service_id,
            "event_type": event.type,
            "event_resource": event.resource_sid,
            "event_payload": Jsonb(event.payload),
            "outbox_now": now,
            "delivery_status": WebhookDelivery.transitions.created_as(
                WebhookDelivery.Status.PENDING
            ),
        }

    def stored(self, delivery_ids: list[int] | None) -> None:
        """After the statement stored the event: queue its deliveries after commit."""
        enqueue_on_commit(list(delivery_ids or []))
