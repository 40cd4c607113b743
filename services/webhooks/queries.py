"""Tenant-scoped reads of webhooks."""

from __future__ import annotations

from django.db.models import QuerySet

from services.models import Account, Service, Webhook
from verify_platform.lib.errors import NotFound


def webhook_get(*, account: Account, service_sid: str, sid: str) -> Webhook:
    """Another tenant's SID is the same 404 as one that never existed."""
    webhook = (
        Webhook.objects.filter(account=account, service_id=service_sid, pk=sid)
        .select_related("service")
        .first()
    )
    if webhook is None:
        raise NotFound()
    return webhook


def webhook_list(*, service: Service) -> QuerySet[Webhook]:
    return Webhook.objects.filter(service=service)
