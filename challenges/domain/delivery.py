"""Delivery: a send is three steps: claim (short transaction), adapter call (no
transaction), record (short transaction). Rows are the durable timer; fallback, retries,
provider callbacks and the sweeper all move them by compare-and-set."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, Q

from challenges.domain.core import (
    AttemptStatus,
    Owner,
    Status,
    _attempt_payload,
    _attempts,
    _destination,
    _end,
    _enqueue,
    _enqueue_on_commit,
    _event,
    _lock_owner_of,
    _schedule_step,
    _step_deadline,
)
from challenges.models import (
    LIFETIME_SECONDS,
    DeliveryAttempt,
)
from channels import registry
from channels.base import (
    ChannelOutcomeUnknownError,
    ChannelPermanentError,
    ChannelTemporaryError,
    DeliveryStatus,
    OutboundMessage,
)
from channels.status import default_status_callback_url
from verify_platform.lib import crypto
from verify_platform.lib.clock import current_time
from verify_platform.lib.transitions import compare_and_set

logger = logging.getLogger("challenges.delivery")

RETRY_BASE_SECONDS = 2
RETRY_CAP_SECONDS = 30
DEFAULT_STEP_TIMEOUT = 60
# The ETA task normally sends a due attempt at once; the sweeper only takes rows it missed.
SWEEP_GRACE_SECONDS = 10
# Attempts that still count as "a code may reach the user".
_LIVE_ATTEMPTS = (
    AttemptStatus.SCHEDULED,
    AttemptStatus.SENDING,
    AttemptStatus.SENT,
    AttemptStatus.DELIVERED,
)


def _lease_seconds() -> int:
    return int(getattr(settings, "VERIFY_DELIVERY_LEASE_SECONDS", 60))


@dataclass(frozen=True)
class _Claim:
    attempt: DeliveryAttempt
    message: OutboundMessage


def _attempt_claim(*, attempt_sid: str, now: datetime | None) -> _Claim | None:
    """Step 1: take the attempt, only while its verification is pending and unexpired."""
    with transaction.atomic():
        now = current_time(now)
        verification = _lock_owner_of(attempt_sid)
        if verification is None:
            return None
        if verification.status != Status.PENDING:
            return None  # its end canceled what was scheduled
        if verification.expires_at <= now:
            _end(verification, Status.EXPIRED, now)
            return None
        claimable = Q(status=AttemptStatus.SCHEDULED, due_at__lte=now) | Q(
            status=AttemptStatus.SENDING, lease_expires_at__lte=now
        )
        won = (
            DeliveryAttempt.objects.filter(claimable, pk=attempt_sid).update(
                status=AttemptStatus.SENDING,
                lease_expires_at=now + timedelta(seconds=_lease_seconds()),
                tries=F("tries") + 1,
                date_updated=now,
            )
            == 1
        )
        if not won:
            return None  # a duplicate task, not yet due, or already handled
        attempt = DeliveryAttempt.objects.get(pk=attempt_sid)
        if attempt.step > 0 and attempt.tries == 1:
            _event(verification, "delivery.fallback", **_attempt_payload(attempt))
        service = verification.service
        message = OutboundMessage(
            channel=attempt.channel,
            to=_destination(verification),
            code=crypto.decrypt(verification.code_sealed),
            service_name=verification.custom_friendly_name or service.friendly_name,
            attempt_sid=attempt.sid,
            locale=verification.locale,
            lifetime_minutes=LIFETIME_SECONDS // 60,
            do_not_share_warning=service.do_not_share_warning_enabled,
            app_hash=verification.app_hash,
            status_callback_url=default_status_callback_url(attempt.sid),
        )
        return _Claim(attempt=attempt, message=message)


def delivery_attempt_send(*, attempt_sid: str, now: datetime | None = None) -> str:
    """Claim, send outside any transaction, record. Returns what happened (for logs and
    tests): skipped, sent, retry, failed or stale."""
    claim = _attempt_claim(attempt_sid=attempt_sid, now=now)
    if claim is None:
        return "skipped"
    adapter_name = ""
    try:
        adapter = registry.get_adapter(claim.attempt.channel)
        adapter_name = str(getattr(adapter, "name", type(adapter).__name__))[:64]
        result = adapter.send(claim.message)
    except ChannelOutcomeUnknownError as exc:
        # The provider may have the message: a blind retry could deliver the code twice, so
        # count it as sent (with the doubt recorded) and let the next step's timer or a
        # status callback decide.
        return _attempt_record_sent(
            attempt_sid=attempt_sid,
            adapter=adapter_name,
            provider_message_id=None,
            now=now,
            doubt=exc,
        )
    except ChannelTemporaryError as exc:
        return _attempt_record_failure(
            attempt_sid=attempt_sid, adapter=adapter_name, error=exc, temporary=True, now=now
        )
    except (ChannelPermanentError, ImproperlyConfigured) as exc:
        return _attempt_record_failure(
            attempt_sid=attempt_sid, adapter=adapter_name, error=exc, temporary=False, now=now
        )
    except Exception as exc:  # an adapter bug: log it, and retry like a network error
        logger.exception("adapter %s raised on attempt %s", adapter_name, attempt_sid)
        return _attempt_record_failure(
            attempt_sid=attempt_sid, adapter=adapter_name, error=exc, temporary=True, now=now
        )
    return _attempt_record_sent(
        attempt_sid=attempt_sid,
        adapter=adapter_name,
        provider_message_id=result.provider_message_id,
        now=now,
    )


def _locked_attempt(attempt_sid: str) -> tuple[Owner, DeliveryAttempt] | None:
    verification = _lock_owner_of(attempt_sid)
    if verification is None:
        return None
    return verification, DeliveryAttempt.objects.get(pk=attempt_sid)


def _attempt_record_sent(
    *,
    attempt_sid: str,
    adapter: str,
    provider_message_id: str | None,
    now: datetime | None,
    doubt: Exception | None = None,
) -> str:
    """Step 3 (success): record the send and arm the next step's timer."""
    with transaction.atomic():
        now = current_time(now)
        locked = _locked_attempt(attempt_sid)
        if locked is None:
            return "stale"
        verification, attempt = locked
        fields = {
            "adapter": adapter,
            "provider_message_id": (provider_message_id or "")[:128] or None,
            "date_sent": now,
            "lease_expires_at": None,
            "date_updated": now,
            **(
                _error_fields(doubt, prefix="outcome unknown: ")
                if doubt
                else {"error_code": None, "error_message": None}
            ),
        }
        won = compare_and_set(
            DeliveryAttempt,
            pk=attempt_sid,
            sources=[AttemptStatus.SENDING],
            target=AttemptStatus.SENT,
            **fields,
        )
        if not won:
            return "stale"  # a callback already decided, or the lease was taken over
        # The row is locked through its verification: what was written is what it holds,
        # without reading it back.
        for name, value in {**fields, "status": AttemptStatus.SENT}.items():
            setattr(attempt, name, value)
        _event(verification, "delivery.sent", **_attempt_payload(attempt))
        nxt = attempt.step + 1
        if (
            verification.status == Status.PENDING
            and attempt.send_number == verification.send_count
            and nxt < len(verification.plan)
        ):
            timeout = verification.plan[attempt.step].get("timeout") or DEFAULT_STEP_TIMEOUT
            due_at = now + timedelta(seconds=timeout)
            exists = (
                _attempts(verification).filter(send_number=attempt.send_number, step=nxt).exists()
            )
            if due_at < verification.expires_at and not exists:
                _schedule_step(
                    verification, send_number=attempt.send_number, step=nxt, due_at=due_at
                )
        return "sent"


def _error_fields(error: Exception, *, prefix: str = "") -> dict[str, Any]:
    code = getattr(error, "code", None)
    return {
        "error_code": str(code)[:32] if code is not None else None,
        "error_message": (prefix + (str(error) or type(error).__name__))[:255],
    }


def _attempt_record_failure(
    *, attempt_sid: str, adapter: str, error: Exception, temporary: bool, now: datetime | None
) -> str:
    """Step 3 (failure): retry a temporary error inside the step's window with capped
    backoff; otherwise fail the attempt and fall back to the next step now."""
    with transaction.atomic():
        now = current_time(now)
        locked = _locked_attempt(attempt_sid)
        if locked is None:
            return "stale"
        verification, attempt = locked
        if attempt.status != AttemptStatus.SENDING:
            return "stale"
        if temporary and verification.status == Status.PENDING:
            backoff = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempt.tries - 1, 0))
            hint = getattr(error, "retry_after", None)
            if isinstance(hint, int | float) and hint > backoff:
                backoff = math.ceil(hint)  # never sooner than the provider asked
            retry_at = now + timedelta(seconds=backoff)
            if retry_at < attempt.deadline:
                compare_and_set(
                    DeliveryAttempt,
                    pk=attempt_sid,
                    sources=[AttemptStatus.SENDING],
                    target=AttemptStatus.SCHEDULED,
                    adapter=adapter,
                    due_at=retry_at,
                    lease_expires_at=None,
                    date_updated=now,
                    **_error_fields(error),
                )
                attempt.refresh_from_db()
                _enqueue_on_commit(attempt)
                return "retry"
        if not compare_and_set(
            DeliveryAttempt,
            pk=attempt_sid,
            sources=[AttemptStatus.SENDING],
            target=AttemptStatus.FAILED,
            adapter=adapter,
            lease_expires_at=None,
            date_updated=now,
            **_error_fields(error),
        ):
            return "stale"
        attempt.refresh_from_db()
        _event(verification, "delivery.failed", **_attempt_payload(attempt))
        _fall_back(verification, attempt, now)
        return "failed"


def _fall_back(verification: Owner, attempt: DeliveryAttempt, now: datetime) -> None:
    """The attempt failed: the next step of its send goes out now. With no step left and
    nothing that may still reach the user, the verification has failed."""
    if verification.status != Status.PENDING or attempt.send_number != verification.send_count:
        return
    nxt = attempt.step + 1
    if nxt < len(verification.plan):
        following = (
            _attempts(verification).filter(send_number=attempt.send_number, step=nxt).first()
        )
        if following is None:
            _schedule_step(verification, send_number=attempt.send_number, step=nxt, due_at=now)
        elif compare_and_set(
            DeliveryAttempt,
            pk=following.pk,
            sources=[AttemptStatus.SCHEDULED],
            target=AttemptStatus.SCHEDULED,
            due_at=now,
            deadline=_step_deadline(verification, nxt, now),
            date_updated=now,
        ):
            following.due_at = now
            _enqueue_on_commit(following)
        return
    if not _attempts(verification).filter(status__in=_LIVE_ATTEMPTS).exists():
        _end(verification, Status.FAILED, now, **_attempt_payload(attempt))


def delivery_attempt_sweep(*, now: datetime | None = None, limit: int = 100) -> list[str]:
    """The backstop of the ETA tasks: due rows they missed (lost broker message, worker
    killed mid-send once its lease ran out). Returns the SIDs queued again after commit."""
    with transaction.atomic():
        now = current_time(now)
        overdue = now - timedelta(seconds=SWEEP_GRACE_SECONDS)
        sids = list(
            DeliveryAttempt.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=AttemptStatus.SCHEDULED, due_at__lte=overdue)
                | Q(status=AttemptStatus.SENDING, lease_expires_at__lte=now)
            )
            .order_by("due_at")
            .values_list("sid", flat=True)[:limit]
        )
        for sid in sids:
            transaction.on_commit(lambda sid=sid: _enqueue(sid, now))
    return sids


_CALLBACK_FAILURES = {
    DeliveryStatus.FAILED: AttemptStatus.FAILED,
    DeliveryStatus.UNDELIVERED: AttemptStatus.UNDELIVERED,
}


def delivery_status_record(
    *,
    attempt_sid: str,
    provider_message_id: str | None,
    status: DeliveryStatus | str,
    error_code: str | None,
    now: datetime | None = None,
) -> bool:
    """A provider's status callback. Statuses only move forward and a duplicate is a no-op;
    failed or undelivered falls back to the next step at once. True when it changed a row."""
    try:
        status = DeliveryStatus(status)
    except ValueError:
        return False
    if status not in (DeliveryStatus.DELIVERED, DeliveryStatus.READ, *_CALLBACK_FAILURES):
        return False  # queued/sent: the adapter's own answer already recorded the send
    with transaction.atomic():
        now = current_time(now)
        locked = _locked_attempt(attempt_sid)
        if locked is None and provider_message_id:
            sid = (
                DeliveryAttempt.objects.filter(provider_message_id=provider_message_id)
                .values_list("sid", flat=True)
                .first()
            )
            locked = _locked_attempt(sid) if sid else None
        if locked is None:
            return False
        verification, attempt = locked
        extra = {"provider_message_id": provider_message_id[:128]} if provider_message_id else {}
        if status in (DeliveryStatus.DELIVERED, DeliveryStatus.READ):
            return compare_and_set(
                DeliveryAttempt,
                pk=attempt.pk,
                sources=[AttemptStatus.SENT],
                target=AttemptStatus.DELIVERED,
                date_updated=now,
                **extra,
            )
        if not compare_and_set(
            DeliveryAttempt,
            pk=attempt.pk,
            sources=[AttemptStatus.SENDING, AttemptStatus.SENT],
            target=_CALLBACK_FAILURES[status],
            lease_expires_at=None,
            error_code=(error_code or "")[:32] or None,
            error_message=f"provider reported {status.value}",
            date_updated=now,
            **extra,
        ):
            return False
        attempt.refresh_from_db()
        _event(verification, "delivery.failed", **_attempt_payload(attempt))
        _fall_back(verification, attempt, now)
        return True
