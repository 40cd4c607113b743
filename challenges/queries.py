"""Tenant-scoped reads for challenges and verifications."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from challenges import sql
from challenges.models import Challenge, DeliveryAttempt, Verification
from factors.models import Factor
from services.models import Account, Service
from verify_platform.lib import rows
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import NotFound
from verify_platform.lib.sids import is_sid

_RELATED = ("service", "entity", "factor")
# A challenge whose factor was deleted stays in the database (the audit trail: admin, events)
# but leaves the API with its factor, as the factor's own URL does: fetch, update and list
# treat it as gone.
_FACTOR_EXISTS = Exists(Factor.objects.filter(pk=OuterRef("factor_id")))


def challenge_get(*, account: Account, service_sid: str, identity: str, sid: str) -> Challenge:
    challenge = (
        Challenge.objects.select_related(*_RELATED)
        .filter(service__account=account, service_id=service_sid, entity__identity=identity, pk=sid)
        .first()
    )
    if challenge is None or challenge.factor is None:  # None: the factor was deleted
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
    now = current_time(now)
    queryset = Challenge.objects.select_related(*_RELATED).filter(_FACTOR_EXISTS, entity=entity)
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


# What a fetch can still see. Twilio deletes a verification once it is approved, canceled,
# expired or out of checks; a later fetch answers 404 (wire reference 8.1).
VISIBLE = (Verification.Status.PENDING, Verification.Status.FAILED)


def _scoped(*, account: Account, service_sid: str, attempts: bool = True) -> QuerySet[Verification]:
    queryset = Verification.objects.select_related("service").filter(
        service__account=account, service_id=service_sid
    )
    if not attempts:
        return queryset
    return queryset.prefetch_related(
        Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("date_created", "sid"))
    )


def verification_find(
    *,
    account: Account,
    service_sid: str,
    sid: str | None = None,
    to: str | None = None,
    attempts: bool = True,
) -> Verification:
    """The verification a check names, by SID or the latest one for `to`, in any status
    (the domain decides what each status answers). `attempts=False` skips loading the
    delivery attempts (a check's answer does not show them: one query less)."""
    queryset = _scoped(account=account, service_sid=service_sid, attempts=attempts)
    if sid is not None:
        found = queryset.filter(pk=sid).first() if is_sid(sid, "VE") else None
    else:
        found = queryset.filter(to=to).order_by("-date_created", "-sid").first()
    if found is None:
        raise NotFound()
    return found


def verification_find_for_check(
    *,
    account: Account,
    service_sid: str,
    sid: str | None = None,
    to: str | None = None,
    lock: bool = True,
) -> Verification | None:
    """`verification_find`'s lookup with what a check needs of its service (its account),
    `challenges.sql.VERIFICATION_FOR_CHECK`; with `lock`, a locking read of the verification
    row only (call inside a transaction). None when nothing matches."""
    if sid is not None and not is_sid(sid, "VE"):
        return None
    by = "sid" if sid is not None else "to"
    params = {"account": account.pk, "service": service_sid, "sid": sid, "to": to}
    with connection.cursor() as cursor:
        cursor.execute(sql.VERIFICATION_FOR_CHECK[by, lock], params)
        row = cursor.fetchone()
    if row is None:
        return None
    *columns, account_id = row
    values = dict(zip(sql.VERIFICATION_COLUMNS, columns, strict=True))
    verification = rows.instance(Verification, values)
    verification.service = rows.instance(Service, {"sid": service_sid, "account_id": account_id})
    return verification


def verification_get(*, account: Account, service_sid: str, sid_or_to: str) -> Verification:
    """A live verification by SID or To (fetch and update); anything ended is a 404."""
    queryset = _scoped(account=account, service_sid=service_sid)
    if is_sid(sid_or_to, "VE"):
        found = queryset.filter(pk=sid_or_to).first()
    else:
        found = queryset.filter(to=sid_or_to).order_by("-date_created", "-sid").first()
    if found is None or found.status not in VISIBLE:
        raise NotFound()
    if found.status == Verification.Status.PENDING and found.expires_at <= current_time():
        raise NotFound()  # the expiry sweeper records it; the client sees Twilio's answer
    return found
