"""Writes and transitions of the OTP engine: verifications, their code, and delivery.

Every transaction that changes a verification or its attempts first locks the verification
row, so a check, a cancel, a provider callback and a worker recording a send are serialised
per verification; status changes are compare-and-set on top of that. A send is three steps:
claim (short transaction), adapter call (no transaction), record (short transaction).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from challenges.clock import current_time
from challenges.destinations import PHONE_CHANNELS, TEXT_CHANNELS, is_landline
from challenges.errors import (
    ConcurrentRequests,
    MaxCheckAttemptsReached,
    MaxSendAttemptsReached,
)
from challenges.models import (
    LIFETIME_SECONDS,
    MAX_CHECK_ATTEMPTS,
    MAX_SEND_ATTEMPTS,
    DeliveryAttempt,
    Verification,
)
from channels import registry
from channels.base import (
    ChannelPermanentError,
    ChannelTemporaryError,
    DeliveryStatus,
    OutboundMessage,
)
from services.domain import event_record
from services.models import Service
from verify_platform.lib import crypto
from verify_platform.lib.errors import InvalidParameter, NotFound
from verify_platform.lib.transitions import compare_and_set

logger = logging.getLogger("challenges.delivery")

Status = Verification.Status
AttemptStatus = DeliveryAttempt.Status

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


# --- the code store -------------------------------------------------------------------------


def _new_code(length: int) -> str:
    return f"{secrets.randbelow(10**length):0{length}d}"


def _code_matches(verification: Verification, code: str) -> bool:
    digest = crypto.keyed_hash(code, salt=verification.code_salt)
    return hmac.compare_digest(digest.encode(), verification.code_hash.encode())


# --- plans ----------------------------------------------------------------------------------


def plan_for(*, service: Service, channel: str, to: str) -> list[dict[str, Any]]:
    """The channel steps of one send. An explicit channel is one step; `auto` follows the
    service's fallback plan (plain sms without one), minus the steps this destination cannot
    take (e-mail vs phone, text channels for a landline) or that have no adapter."""
    if channel != "auto":
        return [{"channel": channel}]
    configured = set(registry.configured_channels())
    if "@" in to:
        steps = [s for s in service.fallback or [] if s["channel"] == "email"]
        steps = steps or [{"channel": "email"}]
    else:
        landline = is_landline(to)
        steps = [
            s
            for s in service.fallback or []
            if s["channel"] in PHONE_CHANNELS and not (landline and s["channel"] in TEXT_CHANNELS)
        ]
        steps = steps or [{"channel": "call" if landline else "sms"}]
    steps = [dict(s) for s in steps if s["channel"] in configured]
    if not steps:
        raise InvalidParameter("Channel", "no enabled channel can reach this destination")
    return steps


# --- events ---------------------------------------------------------------------------------


def _event(verification: Verification, type: str, **payload: Any) -> None:
    event_record(
        service=verification.service,
        type=type,
        resource_sid=verification.sid,
        payload={"verification_sid": verification.sid, "channel": verification.channel, **payload},
    )


def _attempt_payload(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "attempt_sid": attempt.sid,
        "attempt_channel": attempt.channel,
        "send_number": attempt.send_number,
        "step": attempt.step,
        "status": attempt.status,
        "error_code": attempt.error_code,
    }


# --- scheduling -----------------------------------------------------------------------------


def _enqueue(attempt_sid: str, eta: datetime) -> None:
    from challenges.tasks import delivery_attempt_send_task

    try:
        delivery_attempt_send_task.apply_async(args=[attempt_sid], eta=eta)
    except Exception:  # the broker is down: the row is the outbox, the sweeper sends it
        logger.warning("could not queue attempt %s; the sweeper will send it", attempt_sid)


def _enqueue_on_commit(attempt: DeliveryAttempt) -> None:
    sid, eta = attempt.sid, attempt.due_at
    transaction.on_commit(lambda: _enqueue(sid, eta))


def _step_deadline(verification: Verification, step: int, start: datetime) -> datetime:
    plan = verification.plan
    timeout = plan[step].get("timeout") if step < len(plan) - 1 else None
    if not timeout:
        return verification.expires_at
    return min(start + timedelta(seconds=timeout), verification.expires_at)


def _schedule_step(
    verification: Verification, *, send_number: int, step: int, due_at: datetime
) -> DeliveryAttempt:
    attempt = DeliveryAttempt.objects.create(
        verification=verification,
        send_number=send_number,
        step=step,
        channel=verification.plan[step]["channel"],
        due_at=due_at,
        deadline=_step_deadline(verification, step, due_at),
    )
    _enqueue_on_commit(attempt)
    return attempt


def _lock(verification_sid: str) -> Verification | None:
    return (
        Verification.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(pk=verification_sid)
        .first()
    )


def _end(
    verification: Verification,
    target: str,
    now: datetime,
    *,
    extra_filter: dict[str, Any] | None = None,
    **payload: Any,
) -> bool:
    """pending -> a terminal status: erase the sealed code, cancel what is still scheduled,
    record the event. Call with the verification locked."""
    won = compare_and_set(
        Verification,
        pk=verification.pk,
        sources=[Status.PENDING],
        target=target,
        extra_filter=extra_filter,
        code_sealed="",
        date_updated=now,
    )
    if not won:
        return False
    DeliveryAttempt.objects.filter(
        verification_id=verification.pk, status=AttemptStatus.SCHEDULED
    ).update(status=AttemptStatus.CANCELED, date_updated=now)
    verification.status = target
    verification.code_sealed = ""
    _event(verification, f"verification.{target}", **payload)
    return True


# --- verifications --------------------------------------------------------------------------


def _expire_stale(*, service: Service, to: str, now: datetime) -> None:
    stale = (
        Verification.objects.select_for_update()
        .select_related("service")
        .filter(service=service, to=to, status=Status.PENDING, expires_at__lte=now)
    )
    for verification in stale:
        _end(verification, Status.EXPIRED, now)


def _create(
    *,
    service: Service,
    to: str,
    plan: list[dict[str, Any]],
    now: datetime,
    custom_code: str | None,
    **fields: Any,
) -> Verification:
    code = custom_code or _new_code(service.code_length)
    salt = secrets.token_hex(16)
    verification = Verification.objects.create(
        service=service,
        to=to,
        channel=plan[0]["channel"],
        plan=plan,
        code_hash=crypto.keyed_hash(code, salt=salt),
        code_salt=salt,
        code_sealed=crypto.encrypt(code),
        code_length=len(code),
        custom_code=custom_code is not None,
        expires_at=now + timedelta(seconds=LIFETIME_SECONDS),
        **fields,
    )
    verification.service = service
    _schedule_step(verification, send_number=1, step=0, due_at=now)
    return verification


def _resend(verification: Verification, plan: list[dict[str, Any]], now: datetime) -> None:
    """Same verification, same code, one more send; counters are never reset (N-06)."""
    won = Verification.objects.filter(
        pk=verification.pk, status=Status.PENDING, send_count__lt=MAX_SEND_ATTEMPTS
    ).update(
        send_count=F("send_count") + 1, plan=plan, channel=plan[0]["channel"], date_updated=now
    )
    if not won:
        retry_after = max(1, int((verification.expires_at - now).total_seconds()))
        raise MaxSendAttemptsReached(retry_after=retry_after)
    verification.refresh_from_db()
    # The earlier send's fallback timers are superseded by this send's plan; what the user
    # asked for (step 0 of every send) still goes out.
    DeliveryAttempt.objects.filter(
        verification_id=verification.pk, status=AttemptStatus.SCHEDULED, step__gt=0
    ).update(status=AttemptStatus.CANCELED, date_updated=now)
    _schedule_step(verification, send_number=verification.send_count, step=0, due_at=now)


def verification_start(
    *,
    service: Service,
    to: str,
    channel: str,
    locale: str = "en",
    custom_friendly_name: str | None = None,
    app_hash: str | None = None,
    custom_code: str | None = None,
    amount: str | None = None,
    payee: str | None = None,
    now: datetime | None = None,
) -> Verification:
    """Create a verification for `to`, or resend the pending one (same SID, same code).

    Concurrent starts for one destination collide on the partial unique index; the losers
    retry as resends of the winner's verification.
    """
    plan = plan_for(service=service, channel=channel, to=to)
    with transaction.atomic():
        now = current_time(now)
        _expire_stale(service=service, to=to, now=now)
        # Out of checks: no fresh code (and five fresh guesses) for this destination until
        # the exhausted verification's lifetime is over, as on Twilio (error 60202).
        locked_until = (
            Verification.objects.filter(
                service=service,
                to=to,
                status=Status.MAX_ATTEMPTS_REACHED,
                expires_at__gt=now,
            )
            .order_by("-expires_at")
            .values_list("expires_at", flat=True)
            .first()
        )
        if locked_until is not None:
            retry_after = max(1, int((locked_until - now).total_seconds()))
            raise MaxCheckAttemptsReached(retry_after=retry_after)
        for _ in range(3):
            existing = (
                Verification.objects.select_for_update()
                .filter(service=service, to=to, status=Status.PENDING)
                .first()
            )
            if existing is not None:
                existing.service = service
                _resend(existing, plan, now)
                return existing
            try:
                with transaction.atomic():
                    return _create(
                        service=service,
                        to=to,
                        plan=plan,
                        now=now,
                        custom_code=custom_code,
                        locale=locale,
                        custom_friendly_name=custom_friendly_name,
                        app_hash=app_hash,
                        amount=amount,
                        payee=payee,
                    )
            except IntegrityError:
                continue  # another request created it first: resend that one
    raise ConcurrentRequests()


def verification_resend(*, verification: Verification, now: datetime | None = None) -> bool:
    """Send the pending verification's code again with its current plan (admin action)."""
    with transaction.atomic():
        now = current_time(now)
        locked = _lock(verification.pk)
        if locked is None or locked.status != Status.PENDING or locked.expires_at <= now:
            return False
        _resend(locked, locked.plan, now)
        return True


def _terminal_update(
    *, verification: Verification, target: str, now: datetime | None
) -> Verification:
    expired = False
    with transaction.atomic():
        now = current_time(now)
        locked = _lock(verification.pk)
        if locked is None or locked.status != Status.PENDING:
            raise NotFound()
        if locked.expires_at <= now:
            expired = _end(locked, Status.EXPIRED, now)
        elif not _end(locked, target, now, extra_filter={"expires_at__gt": now}):
            raise NotFound()
        locked.refresh_from_db()
    if expired:
        raise NotFound()
    return locked


def verification_cancel(*, verification: Verification, now: datetime | None = None) -> Verification:
    return _terminal_update(verification=verification, target=Status.CANCELED, now=now)


def verification_approve(
    *, verification: Verification, now: datetime | None = None
) -> Verification:
    """`Status=approved` on update: for custom-code flows checked outside the platform."""
    return _terminal_update(verification=verification, target=Status.APPROVED, now=now)


def verification_check(
    *, verification: Verification, code: str, now: datetime | None = None
) -> Verification:
    """One check of `code`. A wrong code counts; the fifth ends the verification. Of any
    number of concurrent correct checks exactly one approves; the rest find it ended."""
    ended_by_expiry = False
    with transaction.atomic():
        now = current_time(now)
        locked = _lock(verification.pk)
        if locked is None:
            raise NotFound()
        if locked.status == Status.MAX_ATTEMPTS_REACHED:
            raise MaxCheckAttemptsReached()
        if locked.status != Status.PENDING:
            raise NotFound()
        if len(code) != locked.code_length:
            raise InvalidParameter("Code", f"must be {locked.code_length} digits")
        if locked.expires_at <= now:
            ended_by_expiry = _end(locked, Status.EXPIRED, now)
        elif _code_matches(locked, code):
            if not _end(
                locked,
                Status.APPROVED,
                now,
                extra_filter={"expires_at__gt": now, "check_attempts__lt": MAX_CHECK_ATTEMPTS},
            ):
                raise NotFound()
        else:
            Verification.objects.filter(
                pk=locked.pk, status=Status.PENDING, check_attempts__lt=MAX_CHECK_ATTEMPTS
            ).update(check_attempts=F("check_attempts") + 1, date_updated=now)
            locked.refresh_from_db(fields=["check_attempts"])
            if locked.check_attempts >= MAX_CHECK_ATTEMPTS:
                _end(locked, Status.MAX_ATTEMPTS_REACHED, now)
        locked.refresh_from_db()
    if ended_by_expiry:
        raise NotFound()
    return locked


def verification_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The expiry sweeper: end every pending verification whose time is up."""
    with transaction.atomic():
        now = current_time(now)
        due = list(
            Verification.objects.select_for_update(skip_locked=True)
            .select_related("service")
            .filter(status=Status.PENDING, expires_at__lte=now)
            .order_by("expires_at")[:limit]
        )
        return sum(_end(v, Status.EXPIRED, now) for v in due)


# --- delivery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    attempt: DeliveryAttempt
    message: OutboundMessage


def _attempt_claim(*, attempt_sid: str, now: datetime | None) -> _Claim | None:
    """Step 1: take the attempt, only while its verification is pending and unexpired."""
    with transaction.atomic():
        now = current_time(now)
        row = DeliveryAttempt.objects.filter(pk=attempt_sid).values("verification_id").first()
        if row is None:
            return None
        verification = _lock(row["verification_id"])
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
            to=verification.to,
            code=crypto.decrypt(verification.code_sealed),
            service_name=verification.custom_friendly_name or service.friendly_name,
            attempt_sid=attempt.sid,
            locale=verification.locale,
            lifetime_minutes=LIFETIME_SECONDS // 60,
            do_not_share_warning=service.do_not_share_warning_enabled,
            app_hash=verification.app_hash,
            status_callback_url=getattr(settings, "VERIFY_STATUS_CALLBACK_URL", None),
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


def _locked_attempt(attempt_sid: str) -> tuple[Verification, DeliveryAttempt] | None:
    row = DeliveryAttempt.objects.filter(pk=attempt_sid).values("verification_id").first()
    if row is None:
        return None
    verification = _lock(row["verification_id"])
    if verification is None:
        return None
    return verification, DeliveryAttempt.objects.get(pk=attempt_sid)


def _attempt_record_sent(
    *, attempt_sid: str, adapter: str, provider_message_id: str | None, now: datetime | None
) -> str:
    """Step 3 (success): record the send and arm the next step's timer."""
    with transaction.atomic():
        now = current_time(now)
        locked = _locked_attempt(attempt_sid)
        if locked is None:
            return "stale"
        verification, attempt = locked
        won = compare_and_set(
            DeliveryAttempt,
            pk=attempt_sid,
            sources=[AttemptStatus.SENDING],
            target=AttemptStatus.SENT,
            adapter=adapter,
            provider_message_id=(provider_message_id or "")[:128] or None,
            date_sent=now,
            lease_expires_at=None,
            error_code=None,
            error_message=None,
            date_updated=now,
        )
        if not won:
            return "stale"  # a callback already decided, or the lease was taken over
        attempt.refresh_from_db()
        _event(verification, "delivery.sent", **_attempt_payload(attempt))
        nxt = attempt.step + 1
        if (
            verification.status == Status.PENDING
            and attempt.send_number == verification.send_count
            and nxt < len(verification.plan)
        ):
            timeout = verification.plan[attempt.step].get("timeout") or DEFAULT_STEP_TIMEOUT
            due_at = now + timedelta(seconds=timeout)
            exists = DeliveryAttempt.objects.filter(
                verification_id=verification.pk, send_number=attempt.send_number, step=nxt
            ).exists()
            if due_at < verification.expires_at and not exists:
                _schedule_step(
                    verification, send_number=attempt.send_number, step=nxt, due_at=due_at
                )
        return "sent"


def _error_fields(error: Exception) -> dict[str, Any]:
    code = getattr(error, "code", None)
    return {
        "error_code": str(code)[:32] if code is not None else None,
        "error_message": (str(error) or type(error).__name__)[:255],
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


def _fall_back(verification: Verification, attempt: DeliveryAttempt, now: datetime) -> None:
    """The attempt failed: the next step of its send goes out now. With no step left and
    nothing that may still reach the user, the verification has failed."""
    if verification.status != Status.PENDING or attempt.send_number != verification.send_count:
        return
    nxt = attempt.step + 1
    if nxt < len(verification.plan):
        following = DeliveryAttempt.objects.filter(
            verification_id=verification.pk, send_number=attempt.send_number, step=nxt
        ).first()
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
    if not DeliveryAttempt.objects.filter(
        verification_id=verification.pk, status__in=_LIVE_ATTEMPTS
    ).exists():
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
