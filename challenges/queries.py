"""Tenant-scoped reads for challenges."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from challenges.models import Challenge
from services.models import Account
from verify_platform.lib.errors import NotFound

_RELATED = ("service", "entity", "factor")


def challenge_get(*, account: Account, service_sid: str, identity: str, sid: str) -> Challenge:
    challenge = (
        Challenge.objects.select_related(*_RELATED)
        .filter(service__account=account, service_id=service_sid, entity__identity=identity, pk=sid)
        .first()
    )
    if challenge is None:
        raise NotFound()
    return challenge


def challenge_list(
    *,
    entity,
    factor_sid: str | None = None,
    status: str | None = None,
    now: datetime | None = None,
) -> QuerySet[Challenge]:
    """`entity` has already been fetched through the tenant. The status filter uses the
    status a client sees: pending ones past their date count as expired."""
    now = now if now is not None else timezone.now()
    queryset = Challenge.objects.select_related(*_RELATED).filter(entity=entity)
    if factor_sid:
        queryset = queryset.filter(factor_id=factor_sid)
    overdue = Q(status=Challenge.Status.PENDING, expiration_date__lte=now)
    if status == Challenge.Status.PENDING:
        queryset = queryset.filter(status=status).exclude(overdue)
    elif status == Challenge.Status.EXPIRED:
        queryset = queryset.filter(Q(status=status) | overdue)
    elif status:
        queryset = queryset.filter(status=status)
    return queryset
