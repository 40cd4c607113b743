"""Tenant-scoped reads for factors."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Q, QuerySet

from entities.models import Entity
from factors import sql
from factors.models import Factor
from services.models import Account, Service
from verify_platform.lib import rows
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


def factor_for_challenge(*, account: Account, service_sid: str, identity: str, sid: str) -> Factor:
    """The factor a new challenge is for, with its service and entity
    (`factors.sql.FACTOR_FOR_CHALLENGE`), found through the tenant like `factor_get`: another
    tenant's factor, or one of another service or entity, is the same 404 as a random SID."""
    with connection.cursor() as cursor:
        cursor.execute(sql.FACTOR_FOR_CHALLENGE, {"sid": sid})
        row = cursor.fetchone()
    if row is None:
        raise NotFound()
    values: dict[str, dict] = {"factor": {}, "service": {}, "entity": {}}
    for (table, column), value in zip(sql.FACTOR_READ, row, strict=True):
        values[table][column] = value
    factor = rows.instance(Factor, values["factor"])
    factor.service = rows.instance(Service, values["service"])
    factor.entity = rows.instance(Entity, values["entity"])
    if (
        factor.service_id != service_sid
        or factor.service.account_id != account.pk
        or factor.entity.identity != identity
    ):
        raise NotFound()
    return factor


def factor_list(*, entity) -> QuerySet[Factor]:
    """`entity` has already been fetched through the tenant."""
    return _with_remaining(Factor.objects.select_related("service", "entity").filter(entity=entity))
