"""Tenant-scoped reads for factors."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from factors.models import Factor
from services.models import Account
from verify_platform.lib.errors import NotFound


def _with_remaining(queryset: QuerySet[Factor]) -> QuerySet[Factor]:
    return queryset.annotate(
        recovery_remaining=Count("recovery_codes", filter=Q(recovery_codes__date_used__isnull=True))
    )


def factor_get(*, account: Account, service_sid: str, identity: str, sid: str) -> Factor:
    factor = (
        _with_remaining(Factor.objects.select_related("service", "entity"))
        .filter(
            service__account=account,
            service_id=service_sid,
            entity__identity=identity,
            pk=sid,
        )
        .first()
    )
    if factor is None:
        raise NotFound()
    return factor


def factor_list(*, entity) -> QuerySet[Factor]:
    """`entity` has already been fetched through the tenant."""
    return _with_remaining(Factor.objects.select_related("service", "entity").filter(entity=entity))
