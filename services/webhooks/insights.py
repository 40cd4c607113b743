"""Read-only views of webhooks in trouble, for the operator dashboard: every tenant's, since
the operator answers for the platform's outbound traffic."""

from __future__ import annotations

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from services.models import Webhook, WebhookDelivery


def failing_webhooks() -> QuerySet[Webhook]:
    """Webhooks whose last attempts failed (a streak) or that were switched off for it,
    longest failing first, each with its latest delivery's outcome."""
    latest = WebhookDelivery.objects.filter(webhook=OuterRef("pk")).order_by("-id")
    return (
        Webhook.objects.filter(Q(failure_streak__gt=0) | Q(auto_disabled=True))
        .select_related("service")
        .annotate(
            last_status_code=Subquery(latest.values("last_status_code")[:1]),
            last_error=Subquery(latest.values("last_error")[:1]),
        )
        .order_by(F("failing_since").asc(nulls_last=True), "sid")
    )
