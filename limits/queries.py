"""Tenant-scoped reads of rate limits and buckets."""

from __future__ import annotations

from django.db.models import QuerySet

from limits.models import Bucket, RateLimit
from services.models import Account, Service
from verify_platform.lib.errors import NotFound


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
