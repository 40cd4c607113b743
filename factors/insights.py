"""Read-only views of locked and throttled factors for the operator dashboard."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from factors.models import Factor


def locked_factors(*, now: datetime) -> QuerySet[Factor]:
    """Factors locked after too many failures (until an operator unlocks them), or waiting
    out their growing delay."""
    return (
        Factor.objects.filter(Q(locked=True) | Q(next_check_at__gt=now))
        .select_related("service", "entity")
        .order_by("-locked", "-date_updated")
    )
