"""Retention of the services app's rows: the event outbox and webhook deliveries are deleted
once they are older than `VERIFY_RETENTION` allows (`verify_platform.lib.retention`).

Each batch is one statement that takes the oldest rows with `FOR UPDATE SKIP LOCKED` and
never a row still in use: a delivery pending or being sent, or an event such a delivery
still has to send. Requests and the delivery worker lock only those, so neither side waits.

- A webhook delivery is kept `WEBHOOK_DELIVERIES_DAYS` after it finished (succeeded, failed
  or canceled), found through a partial index of finished deliveries by `date_completed`
  (migration 0008) that only the worker's last write of a delivery fills, never the request
  that queues it.
- An event is kept `EVENTS_DAYS` after it was written, and goes with its finished
  deliveries (the foreign key is checked at the end of the statement): the event's
  retention bounds its deliveries'. Events are found through their `(service,
  date_created)` index one service at a time (a lateral join), so that the hottest insert
  of the platform (every approval writes an event) pays for no index of its own.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from services.models import WebhookDelivery
from verify_platform.lib import retention
from verify_platform.lib.clock import current_time

_Status = WebhookDelivery.Status
_LIVE = [_Status.PENDING.value, _Status.SENDING.value]
# A literal, not a parameter: the partial index's predicate (migration 0008) must be visible
# to the planner in every plan, a prepared statement's generic one included.
FINISHED = "status IN ('succeeded', 'failed', 'canceled')"

DELIVERIES_DELETE = f"""
DELETE FROM services_webhookdelivery WHERE id IN (
    SELECT id FROM services_webhookdelivery
    WHERE {FINISHED} AND date_completed < %(cutoff)s
    ORDER BY date_completed
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)"""  # noqa: S608 (literals of ours; every value is a parameter)

# `FOR UPDATE OF e`: the service rows read to walk the index are not locked (a request's
# insert takes a key-share lock on its service, which a row lock would block).
EVENTS_DELETE = """
WITH batch AS (
    SELECT old.sid FROM services_service s
    CROSS JOIN LATERAL (
        SELECT e.sid FROM services_event e
        WHERE e.service_id = s.sid AND e.date_created < %(cutoff)s
            AND NOT EXISTS (
                SELECT 1 FROM services_webhookdelivery d
                WHERE d.event_id = e.sid AND d.status = ANY(%(live)s)
            )
        ORDER BY e.date_created
        LIMIT %(limit)s
        FOR UPDATE OF e SKIP LOCKED
    ) old
    LIMIT %(limit)s
), deliveries AS (
    DELETE FROM services_webhookdelivery WHERE event_id IN (SELECT sid FROM batch)
)
DELETE FROM services_event WHERE sid IN (SELECT sid FROM batch)"""


def _run(statement: str, params: dict) -> int:
    """One batch: a statement on its own (autocommit), or a savepoint in a caller's
    transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def _batches(statement: str, cutoff: datetime | None) -> int:
    if cutoff is None:
        return 0
    params = {"cutoff": cutoff, "live": _LIVE}
    return retention.run_batches(lambda limit: _run(statement, {**params, "limit": limit}))


def retention_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """One run of the beat task: finished deliveries, then events, each in bounded batches;
    how many rows of each kind it deleted."""
    now = current_time(now)
    return {
        "webhook_deliveries": _batches(
            DELIVERIES_DELETE, retention.cutoff("WEBHOOK_DELIVERIES_DAYS", now)
        ),
        "events": _batches(EVENTS_DELETE, retention.cutoff("EVENTS_DAYS", now)),
    }
