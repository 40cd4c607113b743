"""What moves a send along its plan besides a success: temporary errors retried with capped
backoff inside the step's window, failures (from the adapter or a provider's status callback)
falling back to the next step at once, the timers of later steps, and the sweeper that
re-queues due rows an ETA task missed. Every change locks the owner first, then moves the
attempt along its declared edges (`DeliveryAttempt.transitions`)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest

from challenges.domain.engine import (
    AttemptStatus,
    Owner,
    Status,
    attempt_payload,
    attempts_of,
    enqueue_attempt,
    lock_owner_of,
    record_event,
    schedule_step,
    session_end,
    step_deadline,
)
from challenges.models import DeliveryAttempt, Verification
from channels.base import DeliveryStatus
from verify_platform.lib import metrics
from verify_platform.lib.clock import current_time
from verify_platform.lib.transitions import move

RETRY_BASE_SECONDS = 2
RETRY_CAP_SECONDS = 30
# The ETA task normally sends a due attempt at once; the sweeper only takes rows it missed.
SWEEP_GRACE_SECONDS = 10
# Attempts that still count as "a code may reach the user".
_LIVE_ATTEMPTS = (
    AttemptStatus.SCHEDULED,
    AttemptStatus.SENDING,
    AttemptStatus.SENT,
    AttemptStatus.DELIVERED,
)


def error_fields(error: Exception, *, prefix: str = "") -> dict[str, Any]:
    """The attempt's `error_code` and `error_message` for `error` (bounded to the columns)."""
    code = getattr(error, "code", None)
    return {
        "error_code": str(code)[:32] if code is not None else None,
        "error_message": (prefix + (str(error) or type(error).__name__))[:255],
    }


def touch(owner: Owner, now: datetime) -> None:
    """A step was added to a locked, pending verification: move its `date_updated`, so a
    check that read the row before (and approves without the lock only while the row is as
    read, `challenges.sql.VERIFICATION_APPROVE`) loses and takes the locked path, which
    cancels this step too. Strictly later than the stored value even if the clocks of two
    hosts disagree. Factor codes are only checked under their lock: nothing to move."""
    if isinstance(owner, Verification):
        later = Greatest(Value(now), F("date_updated") + timedelta(microseconds=1))
        Verification.objects.filter(pk=owner.pk).update(date_updated=later)


def step_schedule(
    owner: Owner, *, send_number: int, step: int, due_at: datetime, now: datetime
) -> DeliveryAttempt:
    """A later step of a send, with the owner locked: its timer, queued after commit."""
    attempt = schedule_step(owner, send_number=send_number, step=step, due_at=due_at)
    touch(owner, now)
    return attempt


def attempt_settle(*, attempt_sid: str, now: datetime) -> None:
    """An attempt its claim could not take: when its owner has ended, a step still scheduled
    (armed by a path that missed the end) is closed, or every sweep would queue it again; an
    owner whose time is up is expired here; a step not due yet is queued again for its due
    time. Anything else (a duplicate task, a lease still held) is left alone. Call inside a
    transaction."""
    owner = lock_owner_of(attempt_sid)
    if owner is None:
        return
    if owner.status != Status.PENDING:
        move(
            DeliveryAttempt,
            pk=attempt_sid,
            sources=[AttemptStatus.SCHEDULED],
            target=AttemptStatus.CANCELED,
            date_updated=now,
        )
    elif owner.expires_at <= now:
        session_end(owner, Status.EXPIRED, now)
    else:
        # A task that came before its step was due (its ETA on a clock a little ahead of the
        # platform's) goes back to wait for it, instead of leaving the step to the sweeper.
        due_at = (
            DeliveryAttempt.objects.filter(pk=attempt_sid, status=AttemptStatus.SCHEDULED)
            .values_list("due_at", flat=True)
            .first()
        )
        if due_at is not None and due_at > now:
            enqueue_attempt(attempt_sid, due_at)


def _locked_attempt(attempt_sid: str) -> tuple[Owner, DeliveryAttempt] | None:
    owner = lock_owner_of(attempt_sid)
    if owner is None:
        return None
    return owner, DeliveryAttempt.objects.get(pk=attempt_sid)


def attempt_record_failure(
    *, attempt_sid: str, adapter: str, error: Exception, temporary: bool, now: datetime | None
) -> str:
    """Step 3 (failure): retry a temporary error inside the step's window with capped
    backoff; otherwise fail the attempt and fall back to the next step now."""
    with transaction.atomic():
        now = current_time(now)
        locked = _locked_attempt(attempt_sid)
        if locked is None:
            return "stale"
        owner, attempt = locked
        if attempt.status != AttemptStatus.SENDING:
            return "stale"
        if temporary and owner.status == Status.PENDING:
            backoff = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(attempt.tries - 1, 0))
            hint = getattr(error, "retry_after", None)
            if isinstance(hint, int | float) and hint > backoff:
                backoff = math.ceil(hint)  # never sooner than the provider asked
            retry_at = now + timedelta(seconds=backoff)
            if retry_at < attempt.deadline:
                move(
                    DeliveryAttempt,
                    pk=attempt_sid,
                    sources=[AttemptStatus.SENDING],
                    target=AttemptStatus.SCHEDULED,
                    adapter=adapter,
                    due_at=retry_at,
                    lease_expires_at=None,
                    date_updated=now,
                    **error_fields(error),
                )
                enqueue_attempt(attempt_sid, retry_at)
                metrics.delivery_attempted(
                    channel=attempt.channel, adapter=adapter, outcome="retry"
                )
                return "retry"
        fields = {
            "adapter": adapter,
            "lease_expires_at": None,
            "date_updated": now,
            **error_fields(error),
        }
        if not move(
            DeliveryAttempt,
            pk=attempt_sid,
            sources=[AttemptStatus.SENDING],
            target=AttemptStatus.FAILED,
            **fields,
        ):
            return "stale"
        for name, value in {**fields, "status": AttemptStatus.FAILED}.items():
            setattr(attempt, name, value)
        record_event(owner, "delivery.failed", **attempt_payload(attempt))
        metrics.delivery_attempted(channel=attempt.channel, adapter=adapter, outcome="failed")
        _fall_back(owner, attempt, now)
        return "failed"


def _fall_back(owner: Owner, attempt: DeliveryAttempt, now: datetime) -> None:
    """The attempt failed: the next step of its send goes out now. With no step left and
    nothing that may still reach the user, the session has failed."""
    if owner.status != Status.PENDING or attempt.send_number != owner.send_count:
        return
    nxt = attempt.step + 1
    if nxt < len(owner.plan):
        following = attempts_of(owner).filter(send_number=attempt.send_number, step=nxt).first()
        if following is None:
            step_schedule(owner, send_number=attempt.send_number, step=nxt, due_at=now, now=now)
        elif move(
            DeliveryAttempt,
            pk=following.pk,
            sources=[AttemptStatus.SCHEDULED],
            target=AttemptStatus.SCHEDULED,
            due_at=now,
            deadline=step_deadline(owner, nxt, now),
            date_updated=now,
        ):
            enqueue_attempt(following.sid, now)
        return
    if not attempts_of(owner).filter(status__in=_LIVE_ATTEMPTS).exists():
        session_end(owner, Status.FAILED, now, **attempt_payload(attempt))


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
            enqueue_attempt(sid, now)
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
        owner, attempt = locked
        extra = {"provider_message_id": provider_message_id[:128]} if provider_message_id else {}
        if status in (DeliveryStatus.DELIVERED, DeliveryStatus.READ):
            return move(
                DeliveryAttempt,
                pk=attempt.pk,
                sources=[AttemptStatus.SENT],
                target=AttemptStatus.DELIVERED,
                date_updated=now,
                **extra,
            )
        fields = {
            "lease_expires_at": None,
            "error_code": (error_code or "")[:32] or None,
            "error_message": f"provider reported {status.value}",
            "date_updated": now,
            **extra,
        }
        target = _CALLBACK_FAILURES[status]
        if not move(
            DeliveryAttempt,
            pk=attempt.pk,
            sources=[AttemptStatus.SENDING, AttemptStatus.SENT],
            target=target,
            **fields,
        ):
            return False
        # The row is locked through its owner: it now holds what was written.
        for name, value in {**fields, "status": target}.items():
            setattr(attempt, name, value)
        record_event(owner, "delivery.failed", **attempt_payload(attempt))
        _fall_back(owner, attempt, now)
        return True
