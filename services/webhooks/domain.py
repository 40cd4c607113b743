"""Writes to webhooks. Status changes move along the declared edges of `Webhook` and
`WebhookDelivery` (`verify_platform.lib.transitions`), each a compare-and-set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from services.models import Event, Service, Webhook, WebhookDelivery
from services.webhooks import dispatch, signing
from verify_platform.lib import clock, crypto
from verify_platform.lib.transitions import move, move_all

_PLAIN_FIELDS = ("friendly_name", "event_types", "webhook_url", "version")

# An extension type, never subscribed to: only an operator's test sends it, to one webhook.
TEST_EVENT_TYPE = "webhook.test"


def webhook_create(
    *,
    service: Service,
    friendly_name: str,
    event_types: list[str],
    webhook_url: str,
    status: str = Webhook.Status.ENABLED,
    version: str = Webhook.Version.V2,
) -> tuple[Webhook, str]:
    """Returns the webhook and its signing secret, which is never returned again."""
    secret = signing.secret_new()
    with transaction.atomic():
        webhook = Webhook.objects.create(
            account_id=service.account_id,
            service=service,
            friendly_name=friendly_name,
            event_types=list(dict.fromkeys(event_types)),
            webhook_url=webhook_url,
            status=Webhook.transitions.created_as(status),
            version=version,
            secret_encrypted=crypto.encrypt(secret),
        )
    return webhook, secret


def webhook_update(*, webhook: Webhook, **fields: Any) -> Webhook:
    """Plain fields are overwritten; `status` moves by compare-and-set."""
    status = fields.pop("status", None)
    unknown = set(fields) - set(_PLAIN_FIELDS)
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    with transaction.atomic():
        if "event_types" in fields:
            fields["event_types"] = list(dict.fromkeys(fields["event_types"]))
        if fields:
            Webhook.objects.filter(pk=webhook.pk).update(
                **fields, date_updated=clock.current_time()
            )
        if status == Webhook.Status.ENABLED:
            webhook_enable(webhook=webhook)
        elif status == Webhook.Status.DISABLED:
            webhook_disable(webhook=webhook)
    webhook.refresh_from_db()
    return webhook


def webhook_enable(*, webhook: Webhook) -> bool:
    """Enabling (by the tenant or an operator) clears the failure streak and the auto flag."""
    with transaction.atomic():
        won = move(
            Webhook,
            pk=webhook.pk,
            sources=[Webhook.Status.DISABLED],
            target=Webhook.Status.ENABLED,
            auto_disabled=False,
            disabled_reason="",
            date_disabled=None,
            failure_streak=0,
            failing_since=None,
            date_updated=clock.current_time(),
        )
    return won


def webhook_disable(
    *, webhook: Webhook, reason: str = "", auto: bool = False, now: datetime | None = None
) -> bool:
    """A disabled webhook gets nothing: its waiting deliveries are canceled with it (an
    operator can replay them from the admin)."""
    now = clock.current_time(now)
    with transaction.atomic():
        won = move(
            Webhook,
            pk=webhook.pk,
            sources=[Webhook.Status.ENABLED],
            target=Webhook.Status.DISABLED,
            auto_disabled=auto,
            disabled_reason=reason[:255],
            date_disabled=now,
            date_updated=now,
        )
        if won:
            # Only the waiting ones: a claimed delivery is left to its worker, which cancels
            # it if it reads the webhook disabled after its claim (a retry, at its next one).
            move_all(
                WebhookDelivery.objects.filter(webhook_id=webhook.pk),
                sources=[WebhookDelivery.Status.PENDING],
                target=WebhookDelivery.Status.CANCELED,
                last_error="webhook disabled",
                date_completed=now,
                date_updated=now,
            )
    return won


def webhook_delete(*, webhook: Webhook) -> None:
    """Deletes the webhook with its delivery log."""
    with transaction.atomic():
        Webhook.objects.filter(pk=webhook.pk).delete()


def webhook_send_test(*, webhook: Webhook) -> WebhookDelivery | None:
    """An operator's "send a test event": an event for this webhook alone, whatever types it
    subscribes to, stored and delivered as any other (by the worker, signed, retried, in the
    delivery log, counted in the failure streak), so it proves the whole path. None for a
    disabled webhook, which would get nothing."""
    now = clock.current_time()
    with transaction.atomic():
        if not Webhook.objects.filter(pk=webhook.pk, status=Webhook.Status.ENABLED).exists():
            return None
        event = Event.objects.create(
            account_id=webhook.account_id,
            service_id=webhook.service_id,
            type=TEST_EVENT_TYPE,
            resource_sid=webhook.pk,
            payload={
                "webhook_sid": webhook.pk,
                "description": "A test event sent from the operator console.",
            },
        )
        delivery = WebhookDelivery.objects.create(
            webhook_id=webhook.pk,
            event=event,
            resource_sid=webhook.pk,
            status=WebhookDelivery.transitions.created_as(WebhookDelivery.Status.PENDING),
            next_attempt_at=now,
            window_started_at=now,
        )
        dispatch.enqueue_on_commit([delivery.pk])
    return delivery
