"""Read-only views of throttled destinations for the operator dashboard."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from limits.models import DestinationThrottle


def throttled_destinations(*, now: datetime) -> QuerySet[DestinationThrottle]:
    """Destinations blocked after failed checks, or waiting out their growing delay."""
    return (
        DestinationThrottle.objects.filter(
            Q(status=DestinationThrottle.Status.BLOCKED) | Q(next_attempt_at__gt=now)
        )
        .select_related("service")
        .order_by("-date_updated")
    )
