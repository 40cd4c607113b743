"""Celery tasks of the services app: thin, take ids, call the domain.

The delivery code queues `webhook_deliver_task` through `services.webhooks.enqueue` (by its
registered name), not through this module, which imports that code.
"""

from __future__ import annotations

import logging

from celery import shared_task

from services import retention
from services.webhooks import delivery
from services.webhooks.enqueue import WEBHOOK_DELIVER

logger = logging.getLogger("services.webhooks")
retention_logger = logging.getLogger("services.retention")


@shared_task(name=WEBHOOK_DELIVER, ignore_result=True)
def webhook_deliver_task(delivery_ids: list[int]) -> None:
    """Attempt each delivery that is due; ids that are not due or already taken are no-ops,
    so a duplicate or late message is harmless."""
    for delivery_id in delivery_ids:
        try:
            delivery.delivery_attempt(delivery_id=delivery_id)
        except Exception:
            # One broken row must not starve the others; its lease expires and the sweeper
            # tries it again.
            logger.exception("webhook delivery %s failed unexpectedly", delivery_id)


@shared_task(ignore_result=True)
def webhook_deliveries_sweep_task() -> None:
    delivery.deliveries_sweep()


@shared_task(name="services.retention_sweep")
def retention_sweep_task() -> dict[str, int]:
    """Beat: delete events and webhook deliveries past `VERIFY_RETENTION`, in bounded
    batches (`services.retention`)."""
    counts = retention.retention_sweep()
    if any(counts.values()):
        retention_logger.info("retention: %s", counts)
    return counts
