"""Writes for tenants, API keys, Services and events."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from services import sql, template_queries
from services.auth_cache import credentials_changed
from services.models import Account, ApiKey, Event, Service
from services.push_credential_domain import service_push_credentials_check
from services.webhooks.dispatch import Outbox
from verify_platform.lib import crypto
from verify_platform.lib.errors import InvalidParameter
from verify_platform.lib.transitions import move


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
    credentials_changed(account.pk)  # a conditional UPDATE sends no post_save
    return token


def account_set_status(*, account: Account, status: str) -> bool:
    others = [s for s in Account.Status.values if s != status]
    changed = move(
        Account, pk=account.pk, sources=others, target=status, date_updated=timezone.now()
    )
    # Forgotten even when another caller moved it first: repeating an action forgets again.
    credentials_changed(account.pk)
    return changed


def api_key_create(*, account: Account, friendly_name: str = "") -> tuple[ApiKey, str]:
    """Returns the key and its secret, which is shown once and stored only as a digest."""
    secret = secrets.token_urlsafe(24)
    key = ApiKey.objects.create(
        account=account, friendly_name=friendly_name, secret_digest=crypto.secret_digest(secret)
    )
    return key, secret


def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Effective at once in every process: the shared authentication cache forgets the key
    now and again after commit (services/auth_cache.py)."""
    now = timezone.now()
    revoked = move(
        ApiKey,
        pk=api_key.pk,
        sources=[ApiKey.Status.ACTIVE],
        target=ApiKey.Status.REVOKED,
        date_revoked=now,
        date_updated=now,
    )
    credentials_changed(api_key.pk)
    return revoked


def _default_template_check(account_id: str, fields: dict[str, Any]) -> None:
    """A `DefaultTemplateSid` must name a template the account can use, for sms or call:
    every verification of the service would otherwise be refused later, far from the cause."""
    sid = fields.get("default_template_sid")
    if not sid:
        return
    template = template_queries.visible_template(account_id=account_id, sid=sid)
    if template is None:
        raise InvalidParameter(
            "DefaultTemplateSid", "no template with this SID is available to the account"
        )


def service_create(*, account: Account, friendly_name: str, **fields: Any) -> Service:
    _default_template_check(account.pk, fields)
    service_push_credentials_check(account.pk, fields)
    return Service.objects.create(account=account, friendly_name=friendly_name, **fields)


def service_update(*, service: Service, **fields: Any) -> Service:
    _default_template_check(service.account_id, fields)
    service_push_credentials_check(service.account_id, fields)
    if fields:
        for name, value in fields.items():
            setattr(service, name, value)
        service.save(update_fields=[*fields, "date_updated"])
    return service


def service_delete(*, service: Service) -> None:
    """Deletes the service with its entities, factors, challenges and verifications."""
    with transaction.atomic():
        service.delete()


def event_outbox(
    *, service: Service, type: str, resource_sid: str, payload: dict[str, Any]
) -> Outbox:
    """An outbox row, not stored yet: for `event_record`, or for a change written as one
    statement that ends with the outbox CTEs (`services/sql.py`)."""
    return Outbox(
        Event(
            account_id=service.account_id,
            service=service,
            type=type,
            resource_sid=resource_sid,
            payload=payload,
        )
    )


def event_record(
    *, service: Service, type: str, resource_sid: str, payload: dict[str, Any]
) -> Event:
    """Append to the outbox; call inside the transaction that made the change. The webhook
    deliveries of the event are created by the same statement and enqueued after commit."""
    outbox = event_outbox(service=service, type=type, resource_sid=resource_sid, payload=payload)
    with connection.cursor() as cursor:
        cursor.execute(sql.EVENT_RECORD, outbox.params())
        [delivery_ids] = cursor.fetchone()
    outbox.stored(delivery_ids)
    return outbox.event
