"""From an outbox event to delivery rows, and one enqueue per transaction.

`services.domain.event_record` calls `deliveries_schedule` inside the caller's transaction,
so the delivery rows commit or roll back with the state change, and no caller of
`event_record` needs to know webhooks exist. The enqueue runs after commit; a transaction
that records several events pays for one broker round trip, not one per event. If the
enqueue is lost (broker down, process killed after commit), the rows stay `pending` and the
sweeper finds them.

A change written as one statement (`verify_platform.lib.statements`: an approved TOTP
challenge, an approved verification, a delivery recorded as sent) stores its event through
`Outbox`, which schedules the deliveries in that same statement.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from services.models import Event, Webhook, WebhookDelivery
from services.webhooks import events
from verify_platform.celery import left_to_sweeper, publish
from verify_platform.lib import clock
from verify_platform.lib.statements import insert_columns_of, insert_params, insert_select_sql

logger = logging.getLogger("services.webhooks")


class _EnqueueBatch:
    """The after-commit callback of one transaction; later events add their ids to it."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def __call__(self) -> None:
        if self.ids:
            enqueue(self.ids)


def enqueue(delivery_ids: Iterable[int], *, countdown: float | None = None) -> None:
    """Hand deliveries to a worker now (after commit), through the cheap publish: Celery's
    `apply_async` cost more than the whole statement of the change that scheduled them. A
    failure here loses nothing: the rows are still due and the sweeper enqueues them
    again."""
    from services.tasks import webhook_deliver_task

    ids = list(delivery_ids)
    if not ids:
        return
    eta = None if countdown is None else timezone.now() + timedelta(seconds=countdown)
    with left_to_sweeper(logger, "%d deliveries to webhooks", len(ids)):
        publish(webhook_deliver_task, ids, eta=eta)


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


# The delivery columns the statement fills from the event and the webhook; every other
# column takes the value a new `WebhookDelivery` would have.
_PER_ROW = ("webhook", "event", "resource_sid")
_OUTBOX_SQL: dict[tuple[str, str], tuple[str, str]] = {}


class Outbox:
    """An event stored by the statement of its change, with its deliveries: a `Tail` of
    `verify_platform.lib.statements`, or the end of a statement a caller writes itself
    (`sql`, `params`, then `stored` with the row it returned).

    The statement selects the service's enabled webhooks that subscribe to the event's type,
    as `deliveries_schedule` does, under the same snapshot as the change; so, unlike a check
    of `Service.has_enabled_webhooks` made before the statement, a webhook enabled just
    before it is never missed. The enqueue follows the statement, after commit."""

    key = "outbox"

    def __init__(self, event: Event) -> None:
        self.event = event

    def sql(self, connection, source: str) -> tuple[str, str]:
        built = _OUTBOX_SQL.get((connection.alias, source))
        if built is None:
            built = _OUTBOX_SQL[(connection.alias, source)] = _outbox_sql(connection, source)
        return built

    def params(self, connection) -> list[Any]:
        now = clock.current_time()
        return [
            *insert_params(self.event, insert_columns_of(Event), connection),
            *(now if timed else value for timed, value in _delivery_plan(connection)),
        ]

    def stored(self, row: tuple) -> None:
        self.event._state.adding = False
        if row[0]:
            enqueue_on_commit(list(row[0]))

    def save(self, using: str) -> None:
        self.event.save(force_insert=True, using=using)
        deliveries_schedule(event=self.event)


def _constant_columns() -> list:
    return [f for f in insert_columns_of(WebhookDelivery) if f.name not in _PER_ROW]


_PLACEHOLDER_TIME = datetime(2000, 1, 1, tzinfo=UTC)
_DELIVERY_PLANS: dict[str, list[tuple[bool, Any]]] = {}


def _delivery_plan(connection) -> list[tuple[bool, Any]]:
    """Per constant column of a new delivery: whether it is the scheduling time (its due time,
    its retry window's start, `auto_now` stamps), else its prepared value. Worked out once
    from a new `WebhookDelivery`, so a column added to the model is written here too; building
    that instance on every statement cost more than the rest of the outbox's parameters."""
    plan = _DELIVERY_PLANS.get(connection.alias)
    if plan is None:
        fields = _constant_columns()
        template = WebhookDelivery(
            next_attempt_at=_PLACEHOLDER_TIME, window_started_at=_PLACEHOLDER_TIME
        )
        plan = _DELIVERY_PLANS[connection.alias] = [
            (
                value == _PLACEHOLDER_TIME
                or bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)),
                value,
            )
            for field, value in zip(
                fields, insert_params(template, fields, connection), strict=True
            )
        ]
    return plan


def _outbox_sql(connection, source: str) -> tuple[str, str]:
    """The CTEs `outbox_event` (the event, from `source`) and `outbox_deliveries` (one row
    per matching enabled webhook), and the final SELECT of the deliveries' ids: one row,
    perhaps an empty array, exactly when the event was stored."""
    quote = connection.ops.quote_name

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    E, W, D = Event, Webhook, WebhookDelivery
    event_pk, webhook_pk = quote(E._meta.pk.column), quote(W._meta.pk.column)
    returned = (event_pk, column(E, "service"), column(E, "type"), column(E, "resource_sid"))
    event_insert = insert_select_sql(connection, E, source, returning=", ".join(returned))
    per_row = {
        "webhook": f"w.{webhook_pk}",
        "event": f"outbox_event.{event_pk}",
        "resource_sid": f"outbox_event.{column(E, 'resource_sid')}",
    }
    fields = insert_columns_of(D)
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join(per_row.get(f.name, "%s") for f in fields)
    types = f"w.{column(W, 'event_types')}"
    every = json.dumps([events.ALL])  # a constant of ours, not input
    delivery_pk = quote(D._meta.pk.column)
    # Identifiers and constants of ours only; every value is a parameter.
    ctes = (
        f"outbox_event AS ({event_insert}), "  # noqa: S608
        f"outbox_deliveries AS (INSERT INTO {quote(D._meta.db_table)} ({columns}) "
        f"SELECT {values} FROM outbox_event JOIN {quote(W._meta.db_table)} w "
        f"ON w.{column(W, 'service')} = outbox_event.{column(E, 'service')} "
        f"WHERE w.{column(W, 'status')} = '{Webhook.Status.ENABLED.value}' "
        f"AND ({types} @> '{every}'::jsonb "
        f"OR {types} @> jsonb_build_array(outbox_event.{column(E, 'type')})) "
        f"RETURNING {delivery_pk})"
    )
    final = (
        f"SELECT ARRAY(SELECT {delivery_pk} FROM outbox_deliveries) "  # noqa: S608
        "FROM outbox_event"
    )
    return ctes, final
