"""Tenant-scoped reads of rate limits, buckets and the Safe List."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from limits.models import Bucket, RateLimit, SafeListNumber
from services.models import Account, Service
from verify_platform.lib.errors import NotFound
from verify_platform.lib.phones import normalize_phone


def rate_limit_get(*, account: Account, service_sid: str, sid: str) -> RateLimit:
    """Another tenant's SID is the same 404 as one that never existed."""
    rate_limit = RateLimit.objects.filter(account=account, service_id=service_sid, pk=sid).first()
    if rate_limit is None:
        raise NotFound()
    return rate_limit


def rate_limit_list(*, service: Service) -> QuerySet[RateLimit]:
    return RateLimit.objects.filter(service=service)


def bucket_get(*, account: Account, service_sid: str, rate_limit_sid: str, sid: str) -> Bucket:
    bucket = Bucket.objects.filter(
        account=account, service_id=service_sid, rate_limit_id=rate_limit_sid, pk=sid
    ).first()
    if bucket is None:
        raise NotFound()
    return bucket


def bucket_list(*, rate_limit: RateLimit) -> QuerySet[Bucket]:
    return Bucket.objects.filter(rate_limit=rate_limit)


def safe_list_number_get(*, account: Account, phone_number: str) -> SafeListNumber:
    """`phone_number` comes from the path: one that is not a valid number cannot be listed,
    so it is the same 404 as an unknown one or another tenant's."""
    number = normalize_phone(phone_number)
    entry = (
        SafeListNumber.objects.filter(account=account, phone_number=number).first()
        if number is not None
        else None
    )
    if entry is None:
        raise NotFound()
    return entry


def destination_exceptions(*, account_id: str, phone_number: str) -> tuple[list[str], bool, bool]:
    """(the special number types account `account_id` allows, whether `phone_number` is in
    its Safe List, whether it may disable risk checks), in one query: what may lift a
    refusal of that destination."""
    listed = SafeListNumber.objects.filter(account_id=OuterRef("pk"), phone_number=phone_number)
    row = (
        Account.objects.filter(pk=account_id)
        .annotate(listed=Exists(listed))
        .values_list("allowed_special_numbers", "listed", "risk_check_disable_allowed")
        .first()
    )
    return (list(row[0]), bool(row[1]), bool(row[2])) if row is not None else ([], False, False)
