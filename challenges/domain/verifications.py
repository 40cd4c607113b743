"""Verifications: start (or resend), cancel, approve, expire; checks are in `checks`.

A start is one statement in the common case (`challenges.sql.VERIFICATION_CREATE`), and that
statement is also what the locking path runs when it creates, so creation has one
implementation. The locking path decides everything else (a resend, 60202, a stale pending
verification) with the verification row locked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from psycopg.types.json import Jsonb

from challenges import sql
from challenges.domain.engine import (
    AttemptStatus,
    Status,
    enqueue_attempt,
    lock_verification,
    new_code,
    plan_for,
    schedule_step,
    sealed_code_fields,
    session_end,
    step_deadline,
)
from challenges.domain.start_options import start_locale, start_options
from challenges.errors import ConcurrentRequests, MaxCheckAttemptsReached, MaxSendAttemptsReached
from challenges.models import (
    LIFETIME_SECONDS,
    MAX_SEND_ATTEMPTS,
    DeliveryAttempt,
    Verification,
)
from limits import domain as limits
from limits import special
from services.models import Service
from verify_platform.lib import metrics, sids
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import NotFound
from verify_platform.lib.transitions import move_all


def _new(
    *,
    service: Service,
    to: str,
    plan: list[dict[str, Any]],
    now: datetime,
    custom_code: str | None,
    **fields: Any,
) -> Verification:
    """A new verification, not saved yet."""
    return Verification(
        sid=sids.verification_sid(),
        service=service,
        to=to,
        channel=plan[0]["channel"],
        status=Verification.transitions.created_as(Status.PENDING),
        plan=plan,
        custom_code=custom_code is not None,
        expires_at=now + timedelta(seconds=LIFETIME_SECONDS),
        **sealed_code_fields(custom_code or new_code(service.code_length)),
        **fields,
    )


def _insert(verification: Verification, now: datetime) -> bool:
    """`VERIFICATION_CREATE`: the verification and its first attempt, or nothing (False).
    The verification then carries the attempt it was written with (`attempts_written`)."""
    attempt = DeliveryAttempt(
        sid=sids.attempt_sid(),
        verification=verification,
        send_number=1,
        step=0,
        channel=verification.channel,
        status=DeliveryAttempt.transitions.created_as(AttemptStatus.SCHEDULED),
        due_at=now,
        deadline=step_deadline(verification, 0, now),
    )
    stamp = current_time()
    v = verification
    params = {
        **limits.destination_params(service=v.service, to=v.to, now=now),
        "sid": v.sid,
        "channel": v.channel,
        "status": v.status,
        "custom_friendly_name": v.custom_friendly_name,
        "custom_code": v.custom_code,
        "amount": v.amount,
        "payee": v.payee,
        "options": Jsonb(v.options),
        "code_hash": v.code_hash,
        "code_salt": v.code_salt,
        "code_sealed": v.code_sealed,
        "code_length": v.code_length,
        "locale": v.locale,
        "app_hash": v.app_hash,
        "plan": Jsonb(v.plan),
        "expires_at": v.expires_at,
        "stamp": stamp,
        "attempt_sid": attempt.sid,
        "attempt_status": attempt.status,
        "deadline": attempt.deadline,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.VERIFICATION_CREATE, params)
        [[inserted]] = cursor.fetchall()
    if not inserted:
        return False
    v.date_created = v.date_updated = attempt.date_created = attempt.date_updated = stamp
    enqueue_attempt(attempt.sid, attempt.due_at)
    v.attempts_written = [attempt]
    return True


def _resend(verification: Verification, plan: list[dict[str, Any]], now: datetime) -> None:
    """Same verification, same code, one more send; counters are never reset (N-06). Call
    with the verification locked: the fields written are then set in memory, not re-read."""
    won = Verification.objects.filter(
        pk=verification.pk, status=Status.PENDING, send_count__lt=MAX_SEND_ATTEMPTS
    ).update(
        send_count=F("send_count") + 1, plan=plan, channel=plan[0]["channel"], date_updated=now
    )
    if not won:
        retry_after = max(1, int((verification.expires_at - now).total_seconds()))
        metrics.refused("max_send_attempts")
        raise MaxSendAttemptsReached(retry_after=retry_after)
    verification.send_count += 1
    verification.plan = plan
    verification.channel = plan[0]["channel"]
    verification.date_updated = now
    # The earlier send's fallback timers are superseded by this send's plan; what the user
    # asked for (step 0 of every send) still goes out.
    move_all(
        DeliveryAttempt.objects.filter(verification_id=verification.pk, step__gt=0),
        sources=[AttemptStatus.SCHEDULED],
        target=AttemptStatus.CANCELED,
        date_updated=now,
    )
    schedule_step(verification, send_number=verification.send_count, step=0, due_at=now)


def _start_locked(*, verification: Verification, now: datetime) -> Verification:
    """One transaction of a start: one locking read decides between 60202, a resend of the
    pending verification and the new one (after expiring a stale pending one). Of this
    destination's pending and exhausted verifications, the one that expires last is the
    one that decides: a pending one is always that one (it can only be created once every
    exhausted one has expired, and it expires a full lifetime after its creation)."""
    latest = (
        Verification.objects.select_for_update()
        .filter(
            service_id=verification.service_id,
            to=verification.to,
            status__in=(Status.PENDING, Status.MAX_ATTEMPTS_REACHED),
        )
        .order_by("-expires_at")
        .first()
    )
    if latest is not None and latest.status == Status.MAX_ATTEMPTS_REACHED:
        # Out of checks: no fresh code (and five fresh guesses) for this destination until
        # the exhausted verification's lifetime is over, as on Twilio (error 60202).
        if latest.expires_at > now:
            retry_after = max(1, int((latest.expires_at - now).total_seconds()))
            metrics.refused("max_check_attempts")
            raise MaxCheckAttemptsReached(retry_after=retry_after)
    elif latest is not None:  # the pending one
        latest.service = verification.service
        if latest.expires_at > now:
            _resend(latest, verification.plan, now)
            latest.attempts_written = list(
                DeliveryAttempt.objects.filter(verification_id=latest.pk).order_by(
                    "date_created", "sid"
                )
            )
            return latest
        session_end(latest, Status.EXPIRED, now)  # stale: a fresh verification replaces it
    if not _insert(verification, now):
        # Only a concurrent start (the unique index) or the gate stops the insert here; the
        # gate has just been judged, so it is the start that won: retry, and resend it.
        raise IntegrityError("a concurrent start created the verification")
    return verification


def verification_start(
    *,
    service: Service,
    to: str,
    channel: str,
    locale: str | None = None,
    custom_friendly_name: str | None = None,
    app_hash: str | None = None,
    custom_code: str | None = None,
    amount: str | None = None,
    payee: str | None = None,
    rate_limits: dict[str, str] | None = None,
    now: datetime | None = None,
    **options: Any,
) -> Verification:
    """Create a verification for `to`, or resend the pending one (same SID, same code).

    Before anything is written: a destination throttled or blocked after failed checks is
    refused, and the start is metered against the tenant's rate limits and send budgets
    (`limits.domain.sends_admit`); a refusal there writes and sends nothing.

    A destination with nothing pending and nothing exhausted (the common case) gets its
    verification in one statement (`VERIFICATION_CREATE`), which also judges the gate, so a
    start with nothing to meter needs no separate gate read. Otherwise one locking
    transaction decides: 60202, a resend of the pending verification, or a new one after
    expiring a stale one. Concurrent starts for one destination collide on the partial unique
    index; a loser's transaction is rolled back and retried, and then finds the winner's
    verification and resends it.

    `options` are the start's message and risk options (`start_options`): TemplateSid and its
    substitutions, SendDigits, ChannelConfiguration, DeviceIp (metered by the per-device
    send budget), RiskCheck, Tags. A resend keeps the pending verification's own.

    The verification returned carries its attempts as written (`attempts_written`).
    """
    plan = plan_for(service=service, channel=channel, to=to)
    locale = start_locale(locale=locale, to=to)
    extra = start_options(
        service=service, channel=channel, plan=plan, locale=locale, app_hash=app_hash, **options
    )
    if channel != "email":
        special.destination_permit(
            to=to, account_id=service.account_id, risk_check=extra.get("risk_check", "enable")
        )
    moment = current_time(now)
    verification = _new(
        service=service,
        to=to,
        plan=plan,
        now=moment,
        custom_code=custom_code,
        locale=locale,
        custom_friendly_name=custom_friendly_name,
        app_hash=app_hash,
        amount=amount,
        payee=payee,
        options=extra,
    )
    # The gate comes before the metering (a refused start is not counted).
    device_ip = extra.get("device_ip")
    metered = limits.sends_metered(rate_limits=rate_limits, device_ip=device_ip)
    if metered:
        limits.destination_gate(service=service, to=to, now=moment)
        limits.sends_admit(service=service, rate_limits=rate_limits, device_ip=device_ip)
    if _insert(verification, moment):
        metrics.verification_started(channel=verification.channel, to=to)
        return verification
    if not metered:
        limits.destination_gate(service=service, to=to, now=moment)
    for _ in range(3):
        try:
            with transaction.atomic():
                started = _start_locked(verification=verification, now=moment)
        except IntegrityError:
            continue  # another request created it first: resend that one
        if started is verification:  # created (a resend is not a start)
            metrics.verification_started(channel=verification.channel, to=to)
        return started
    raise ConcurrentRequests()


def verification_resend(*, verification: Verification, now: datetime | None = None) -> bool:
    """Send the pending verification's code again with its current plan (admin action)."""
    with transaction.atomic():
        now = current_time(now)
        locked = lock_verification(verification.pk)
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
        locked = lock_verification(verification.pk)
        if locked is None or locked.status != Status.PENDING:
            raise NotFound()
        if locked.expires_at <= now:
            expired = session_end(locked, Status.EXPIRED, now)
        elif not session_end(locked, target, now, filters={"expires_at__gt": now}):
            raise NotFound()
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
        return sum(session_end(v, Status.EXPIRED, now) for v in due)
