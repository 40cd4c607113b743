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


# What a challenge on a factor reads: the code parameters and seed, what the answer and its
# event show, and of the service what the rendering and the event write need. Narrow on
# purpose: this read is on the hottest path, and whole Service rows are 30+ columns.
_CHALLENGE_FIELDS = (
    "sid",
    "service_id",
    "entity_id",
    "factor_type",
    "status",
    "friendly_name",
    "metadata",
    "secret_encrypted",
    "alg",
    "code_length",
    "time_step",
    "skew",
    "service__account_id",
    "service__push_include_date",
    "entity__identity",
    "entity__service_id",
)


# By the primary key alone, with the tenant checked on the row read: a plan with nothing to
# choose (the factor, its service and its entity, each by its key). With the tenant's
# conditions in the WHERE clause the planner could pick the service's index and filter every
# factor of the service, which it did on tables not yet analysed.
def factor_for_challenge(*, account: Account, service_sid: str, identity: str, sid: str) -> Factor:
    """The factor a new challenge is for, found through the tenant like `factor_get`: another
    tenant's factor, or one of another service or entity, is the same 404 as a random SID."""
    factor = (
        Factor.objects.select_related("service", "entity")
        .only(*_CHALLENGE_FIELDS)
        .filter(pk=sid)
        .first()
    )
    if (
        factor is None
        or factor.service_id != service_sid
        or factor.service.account_id != account.pk
        or factor.entity.identity != identity
    ):
        raise NotFound()
    return factor


def factor_list(*, entity) -> QuerySet[Factor]:
    """`entity` has already been fetched through the tenant."""
    return _with_remaining(Factor.objects.select_related("service", "entity").filter(entity=entity))
