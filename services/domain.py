"""Writes for tenants, API keys, Services and events."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from services.auth_cache import auth_rows_changed
from services.models import Account, ApiKey, Event, Service
from services.webhooks.dispatch import Outbox, deliveries_schedule
from verify_platform.lib import crypto
from verify_platform.lib.transitions import compare_and_set


def _new_auth_token() -> str:
    # 128 random bits, the shape of a Twilio auth token.
    return secrets.token_hex(16)


def account_create(*, friendly_name: str) -> tuple[Account, str]:
    """Returns the account and its auth token, which is never retrievable again in clear."""
    token = _new_auth_token()
    account = Account.objects.create(
        friendly_name=friendly_name,
        auth_token_digest=crypto.secret_digest(token),
        auth_token_encrypted=crypto.encrypt(token),
    )
    return account, token


def account_rotate_auth_token(*, account: Account) -> str:
    token = _new_auth_token()
    Account.objects.filter(pk=account.pk).update(
        auth_token_digest=crypto.secret_digest(token),
        auth_token_encrypted=crypto.encrypt(token),
        date_updated=timezone.now(),
    )
    auth_rows_changed(account.pk)  # a conditional UPDATE sends no post_save
    return token


def account_set_status(*, account: Account, status: str) -> bool:
    others = [s for s in Account.Status.values if s != status]
    changed = compare_and_set(
        Account, pk=account.pk, sources=others, target=status, date_updated=timezone.now()
    )
    # Announced even when another caller moved it first: repeating an action re-announces.
    auth_rows_changed(account.pk)
    return changed


def api_key_create(*, account: Account, friendly_name: str = "") -> tuple[ApiKey, str]:
    """Returns the key and its secret, which is shown once and stored only as a digest."""
    secret = secrets.token_urlsafe(24)
    key = ApiKey.objects.create(
        account=account, friendly_name=friendly_name, secret_digest=crypto.secret_digest(secret)
    )
    return key, secret


def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Effective at once in this process, and in every other one as soon as it reads the
    announcement after commit (services/auth_cache.py)."""
    now = timezone.now()
    revoked = compare_and_set(
        ApiKey,
        pk=api_key.pk,
        sources=[ApiKey.Status.ACTIVE],
        target=ApiKey.Status.REVOKED,
        date_revoked=now,
        date_updated=now,
    )
    auth_rows_changed(api_key.pk)
    return revoked


def service_create(*, account: Account, friendly_name: str, **fields: Any) -> Service:
    return Service.objects.create(account=account, friendly_name=friendly_name, **fields)


def service_update(*, service: Service, **fields: Any) -> Service:
    if fields:
        for name, value in fields.items():
            setattr(service, name, value)
        service.save(update_fields=[*fields, "date_updated"])
    return service


def service_delete(*, service: Service) -> None:
    """Deletes the service with its entities, factors, challenges and verifications."""
    with transaction.atomic():
        service.delete()


def event_build(
    *, service: Service, type: str, resource_sid: str, payload: dict[str, Any]
) -> Event:
    """An unsaved outbox row. Stored alone it schedules no webhook delivery: store it with
    `event_record`, or in the statement of its change through `event_outbox`."""
    return Event(
        account_id=service.account_id,
        service=service,
        type=type,
        resource_sid=resource_sid,
        payload=payload,
    )


def event_outbox(
    *, service: Service, type: str, resource_sid: str, payload: dict[str, Any]
) -> Outbox:
    """An outbox row for a writer that stores it in the statement of its change
    (`verify_platform.lib.statements`), with its webhook deliveries."""
    return Outbox(
        event_build(service=service, type=type, resource_sid=resource_sid, payload=payload)
    )


def event_record(
    *, service: Service, type: str, resource_sid: str, payload: dict[str, Any]
) -> Event:
    """Append to the outbox; call inside the transaction that made the change. The webhook
    deliveries of the event are created in the same transaction and enqueued after commit."""
    event = event_build(service=service, type=type, resource_sid=resource_sid, payload=payload)
    event.save(force_insert=True)
    deliveries_schedule(event=event)
    return event
