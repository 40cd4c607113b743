"""Writes of rate limits and buckets, the metering of sends, and the per-destination streak
of failed checks.

Metering (`sends_admit`) runs before a start's transaction: a refused start writes nothing
and schedules nothing, so no adapter is ever called for it. The failure streak is written in
the check's transaction, after the verification row is locked, so its count is exact.
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from limits import conf, sql
from limits.errors import (
    DestinationBlocked,
    DestinationThrottled,
    DuplicateBucketInterval,
    DuplicateUniqueName,
    InvalidUniqueName,
    MaxBucketsReached,
    MaxRateLimitsReached,
    RateLimitExceeded,
    SafeListNumberExists,
    SendBudgetExceeded,
)
from limits.models import Bucket, DestinationThrottle, RateLimit, SafeListNumber
from services.models import Account, Service
from verify_platform.lib import crypto, meter, metrics
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter, NotFound, VerifyError
from verify_platform.lib.phones import normalize_phone
from verify_platform.lib.transitions import move

UNIQUE_NAME = re.compile(r"[A-Za-z0-9._-]{1,191}")
MAX_RATE_LIMIT_VALUE = 256
_BUDGET_WINDOWS = (("PER_MINUTE", 60), ("PER_HOUR", 3600))


# --- rate limits and buckets ----------------------------------------------------------------


def rate_limit_create(
    *, service: Service, unique_name: str, description: str | None = None
) -> RateLimit:
    """The service row is locked so concurrent creates cannot pass the per-service cap."""
    if not UNIQUE_NAME.fullmatch(unique_name):
        raise InvalidUniqueName()
    with transaction.atomic():
        Service.objects.select_for_update().filter(pk=service.pk).first()
        if RateLimit.objects.filter(service=service, unique_name=unique_name).exists():
            raise DuplicateUniqueName()
        if (
            RateLimit.objects.filter(service=service).count()
            >= conf.rate_limits()["MAX_PER_SERVICE"]
        ):
            raise MaxRateLimitsReached()
        try:
            with transaction.atomic():
                return RateLimit.objects.create(
                    account_id=service.account_id,
                    service=service,
                    unique_name=unique_name,
                    description=description,
                )
        except IntegrityError:
            raise DuplicateUniqueName() from None


def rate_limit_update(*, rate_limit: RateLimit, description: str | None = None) -> RateLimit:
    if description is not None:
        RateLimit.objects.filter(pk=rate_limit.pk).update(
            description=description, date_updated=timezone.now()
        )
    rate_limit.refresh_from_db()
    return rate_limit


def rate_limit_delete(*, rate_limit: RateLimit) -> None:
    """Deletes its buckets with it; their counters in Redis expire on their own."""
    RateLimit.objects.filter(pk=rate_limit.pk).delete()


def _bucket_save(save):
    try:
        with transaction.atomic():
            return save()
    except IntegrityError:
        # Only the interval is unique per rate limit; the check constraints are enforced
        # by the API's validation before this point.
        raise DuplicateBucketInterval() from None


def bucket_create(*, rate_limit: RateLimit, max: int, interval: int) -> Bucket:
    """The rate limit row is locked so concurrent creates cannot pass the bucket cap."""
    with transaction.atomic():
        RateLimit.objects.select_for_update().filter(pk=rate_limit.pk).first()
        buckets = Bucket.objects.filter(rate_limit=rate_limit)
        if buckets.filter(interval=interval).exists():
            raise DuplicateBucketInterval()
        if buckets.count() >= conf.rate_limits()["MAX_BUCKETS_PER_RATE_LIMIT"]:
            raise MaxBucketsReached()
        return _bucket_save(
            lambda: Bucket.objects.create(
                account_id=rate_limit.account_id,
                service_id=rate_limit.service_id,
                rate_limit=rate_limit,
                max=max,
                interval=interval,
            )
        )


def bucket_update(
    *,
    bucket: Bucket,
    max: int | None = None,
    interval: int | None = None,
) -> Bucket:
    """A changed interval starts fresh counters (they are keyed by the interval)."""
    fields = {
        name: value for name, value in (("max", max), ("interval", interval)) if value is not None
    }
    if fields:
        if (
            "interval" in fields
            and Bucket.objects.filter(rate_limit_id=bucket.rate_limit_id, interval=interval)
            .exclude(pk=bucket.pk)
            .exists()
        ):
            raise DuplicateBucketInterval()
        _bucket_save(
            lambda: Bucket.objects.filter(pk=bucket.pk).update(
                **fields, date_updated=timezone.now()
            )
        )
    bucket.refresh_from_db()
    return bucket


def bucket_delete(*, bucket: Bucket) -> None:
    Bucket.objects.filter(pk=bucket.pk).delete()


# --- metering sends -------------------------------------------------------------------------


def _value_digest(value: str) -> str:
    """Keys of the tenant's choosing (end-user IPs, session ids) are not written to Redis in
    the clear."""
    return crypto.keyed_hash(value, salt="rate-limit-value")[:32]


def _requested_buckets(service: Service, rate_limits: dict) -> list[tuple[Bucket, str]]:
    for name, value in rate_limits.items():
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidParameter("RateLimits", f"the value of {name[:64]!r} must be a string")
        if not 1 <= len(str(value)) <= MAX_RATE_LIMIT_VALUE:
            raise InvalidParameter(
                "RateLimits", f"values must be 1 to {MAX_RATE_LIMIT_VALUE} characters"
            )
    found = {
        rate_limit.unique_name: rate_limit
        for rate_limit in RateLimit.objects.filter(
            service=service, unique_name__in=[str(name) for name in rate_limits]
        ).prefetch_related("buckets")
    }
    unknown = [name for name in rate_limits if name not in found]
    if unknown:
        raise InvalidParameter("RateLimits", f"the service has no rate limit {unknown[0][:64]!r}")
    return [
        (bucket, str(value))
        for name, value in rate_limits.items()
        for bucket in found[name].buckets.all()
    ]


def sends_metered(*, rate_limits: dict | None = None, device_ip: str | None = None) -> bool:
    """Whether `sends_admit` has anything to count for a start naming `rate_limits` (and a
    `device_ip`): false when it names none and every send budget is switched off. A start
    that meters nothing may then leave the destination gate to its own write
    (`limits.sql.DESTINATION_OPEN`)."""
    if rate_limits or device_ip:
        return True
    budgets = conf.send_budgets()
    return any(
        int(budgets.get(f"{scope}_{suffix}", 0) or 0) > 0
        for scope in ("ACCOUNT", "SERVICE")
        for suffix, _ in _BUDGET_WINDOWS
    )


def sends_admit(
    *, service: Service, rate_limits: dict | None = None, device_ip: str | None = None
) -> None:
    """Count one start against the named rate limits' buckets, the account's and the
    service's send budgets and, for a start naming its `DeviceIp`, that device's budget in
    the account; raise if any is exceeded, or if the counters cannot be reached.

    Every counter is hit, in one round trip, before any is judged; a refused start still
    counts (an attacker's refused attempts must not free capacity)."""
    windows: list[tuple[str, int]] = []
    refusals: list[tuple[int, type[VerifyError]]] = []
    requested = _requested_buckets(service, rate_limits) if rate_limits else []
    for bucket, value in requested:
        windows.append(
            (f"limits:b:{bucket.sid}:{bucket.interval}:{_value_digest(value)}", bucket.interval)
        )
        refusals.append((bucket.max, RateLimitExceeded))
    budgets = conf.send_budgets()
    for scope, owner in (("ACCOUNT", service.account_id), ("SERVICE", service.sid)):
        for suffix, seconds in _BUDGET_WINDOWS:
            cap = int(budgets.get(f"{scope}_{suffix}", 0) or 0)
            if cap > 0:
                windows.append((f"limits:s:{owner}:{seconds}", seconds))
                refusals.append((cap, SendBudgetExceeded))
    for suffix, seconds in _BUDGET_WINDOWS if device_ip else ():
        cap = int(budgets.get(f"DEVICE_IP_{suffix}", 0) or 0)
        if cap > 0:
            device = _value_digest(ipaddress.ip_address(device_ip).compressed)
            windows.append((f"limits:ip:{service.account_id}:{seconds}:{device}", seconds))
            refusals.append((cap, SendBudgetExceeded))
    hits = meter.hit(windows)
    for hit, (cap, error) in zip(hits, refusals, strict=True):
        if hit.count > cap:
            metrics.refused("rate_limit" if error is RateLimitExceeded else "send_budget")
            raise error(retry_after=hit.seconds_left)


# --- failed checks per destination ----------------------------------------------------------


def _delay_after(failures: int) -> int | None:
    settings = conf.destination()
    if failures < settings["FREE_FAILURES"]:
        return None
    exponent = min(failures - settings["FREE_FAILURES"], 32)
    return min(settings["BASE_DELAY_SECONDS"] * 2**exponent, settings["MAX_DELAY_SECONDS"])


def destination_gate(*, service: Service, to: str, now: datetime | None = None) -> bool:
    """Refuse a start or a check to a destination that is blocked or waiting out its delay.
    Nothing is counted by a refusal here. Returns whether the destination has a streak of
    failures on record (a success then has one to forget)."""
    now = current_time(now)
    with connection.cursor() as cursor:
        cursor.execute(sql.DESTINATION_STATE, destination_params(service=service, to=to, now=now))
        row = cursor.fetchone()
    if row is None:
        return False
    status, next_attempt_at, closed = row
    if not closed:
        return True
    if status == DestinationThrottle.Status.BLOCKED:
        metrics.refused("destination_blocked")
        raise DestinationBlocked()
    wait = math.ceil((next_attempt_at - now).total_seconds())
    metrics.refused("destination_throttled")
    raise DestinationThrottled(retry_after=max(wait, 1))


def destination_params(*, service: Service, to: str, now: datetime) -> dict[str, Any]:
    """The parameters of the gate's SQL (`limits/sql.py`)."""
    return {"service": service.pk, "to": to, "now": now}


def destination_failure_record(
    *, service: Service, to: str, now: datetime | None = None
) -> DestinationThrottle:
    """One more consecutive failure. Exact under concurrency: the increment is a single
    UPDATE (or the INSERT that lost no race), and the row stays locked by it until commit, so
    the count read back is this transaction's own."""
    now = current_time(now)
    rows = DestinationThrottle.objects.filter(service=service, to=to)
    with transaction.atomic():
        bump = {"consecutive_failures": F("consecutive_failures") + 1, "last_failure_at": now}
        if not rows.update(**bump, date_updated=now):
            try:
                with transaction.atomic():
                    DestinationThrottle.objects.create(
                        account_id=service.account_id,
                        service=service,
                        to=to,
                        consecutive_failures=1,
                        last_failure_at=now,
                    )
            except IntegrityError:  # a concurrent first failure inserted it
                rows.update(**bump, date_updated=now)
        throttle = rows.get()
        delay = _delay_after(throttle.consecutive_failures)
        if delay is not None:
            rows.update(next_attempt_at=now + timedelta(seconds=delay))
        if throttle.consecutive_failures >= conf.destination()["BLOCK_AFTER_FAILURES"]:
            move(
                DestinationThrottle,
                pk=throttle.pk,
                sources=[DestinationThrottle.Status.ACTIVE],
                target=DestinationThrottle.Status.BLOCKED,
                date_blocked=now,
            )
        throttle.refresh_from_db()
    return throttle


def destination_clear(*, throttle: DestinationThrottle, now: datetime | None = None) -> bool:
    """Operator action: unblock the destination and forget its failures and its delay."""
    now = current_time(now)
    return move(
        DestinationThrottle,
        pk=throttle.pk,
        sources=[DestinationThrottle.Status.BLOCKED, DestinationThrottle.Status.ACTIVE],
        target=DestinationThrottle.Status.ACTIVE,
        consecutive_failures=0,
        next_attempt_at=None,
        date_cleared=now,
        date_updated=now,
    )


# --- safe list ------------------------------------------------------------------------------


def safe_list_number_create(*, account: Account, phone_number: str) -> SafeListNumber:
    """Stored in E.164 form so that the geo check, which sees normalised destinations, finds
    it. A number already listed is 60411 and its entry stays as it was (Twilio's answer):
    the unique constraint decides, so two concurrent adds cannot both succeed."""
    number = normalize_phone(phone_number)
    if number is None:
        raise InvalidParameter("PhoneNumber", "must be a valid phone number in E.164 format")
    try:
        with transaction.atomic():
            return SafeListNumber.objects.create(account=account, phone_number=number)
    except IntegrityError:
        raise SafeListNumberExists() from None


def safe_list_number_delete(*, account: Account, phone_number: str) -> None:
    """One DELETE scoped to the account: another tenant's number, an unknown one and a
    malformed one are the same 404. Starts already admitted are not affected; the next start
    to a blocked country is refused again."""
    number = normalize_phone(phone_number)
    deleted = 0
    if number is not None:
        deleted, _ = SafeListNumber.objects.filter(account=account, phone_number=number).delete()
    if not deleted:
        raise NotFound()
