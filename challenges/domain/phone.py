"""Phone factors on the OTP engine: the enrolment code of an sms, whatsapp or voice factor,
and the code of each of its challenges.

Each is a `FactorCode` (an `OtpSession`): the same keyed-hash store, sealed delivery copy,
counters (5 checks, 10-minute lifetime) and `DeliveryAttempt` timer as a verification. A code
belongs to one request only (ASVS 6.6.2): the enrolment, or one challenge. Every answer also
goes through `factor_check_code`, so wrong codes count toward the factor's consecutive-failure
throttle like TOTP, and no new code (a new challenge) resets it (N-06).

Lock order, everywhere: challenge row, then factor row, then the code row. The delivery
engine locks only the code row, and never the challenge.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F

from challenges.destinations import PHONE_CHANNELS, TEXT_CHANNELS
from challenges.domain.engine import (
    Status,
    code_matches,
    new_code,
    schedule_step,
    sealed_code_fields,
    session_end,
    stored_plan,
)
from challenges.errors import MaxSendAttemptsReached
from challenges.models import LIFETIME_SECONDS, MAX_CHECK_ATTEMPTS, MAX_SEND_ATTEMPTS, FactorCode
from channels import registry
from factors.domain import CheckResult
from factors.errors import FactorCodeUnavailable
from factors.models import PHONE_FACTOR_CHANNELS, Factor
from limits import special
from verify_platform.lib import crypto
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter
from verify_platform.lib.phones import is_landline

# A code may still be checked after every delivery step failed: the provider's report can
# be wrong, and the code stays bound to its request either way.
_CHECKABLE = (Status.PENDING, Status.FAILED)


def factor_channel(factor: Factor) -> str:
    return PHONE_FACTOR_CHANNELS[factor.factor_type]


def phone_plan_for(*, factor: Factor, param: str, fallback: bool) -> list[dict[str, Any]]:
    """The steps of one send to the factor's number: its own channel, then (for challenges)
    the service's fallback plan from that channel on, minus what this number cannot take or
    what has no adapter. E-mail is never a step: it proves nothing about the number."""
    own = factor_channel(factor)
    steps: list[dict[str, Any]] = [{"channel": own}]
    if fallback:
        stored = [s for s in stored_plan(factor.service) if s["channel"] in PHONE_CHANNELS]
        start = next((i for i, s in enumerate(stored) if s["channel"] == own), None)
        if start is not None:
            steps = stored[start:]
            landline = is_landline(_destination_of(factor))
            steps = [s for s in steps if not (landline and s["channel"] in TEXT_CHANNELS)]
    configured = set(registry.configured_channels())
    steps = [s for s in steps if s["channel"] in configured]
    if not steps or steps[0]["channel"] != own:
        raise InvalidParameter(param, f"the {own} channel is not enabled")
    return steps


def _destination_of(factor: Factor) -> str:
    return crypto.decrypt(factor.phone_number_encrypted)


def _check_send_budget(factor: Factor, now: datetime) -> None:
    """At most 5 codes to one factor's number per 10 minutes (as for one verification's
    `To`): new challenges must not make the server an SMS pump. Call with the factor locked."""
    window = FactorCode.objects.filter(factor_id=factor.pk, budget_until__gt=now)
    if window.count() >= MAX_SEND_ATTEMPTS:
        oldest = window.order_by("budget_until").values_list("budget_until", flat=True).first()
        raise MaxSendAttemptsReached(retry_after=max(1, int((oldest - now).total_seconds())))


def _session_start(
    *,
    factor: Factor,
    plan: list[dict[str, Any]],
    expires_at: datetime,
    now: datetime,
    challenge_id: str | None = None,
) -> FactorCode:
    service = factor.service
    special.destination_permit(to=_destination_of(factor), account_id=service.account_id)
    session = FactorCode.objects.create(
        service=service,
        factor=factor,
        challenge_id=challenge_id,
        channel=plan[0]["channel"],
        plan=plan,
        expires_at=expires_at,
        **sealed_code_fields(new_code(service.code_length)),
        budget_until=now + timedelta(seconds=LIFETIME_SECONDS),
    )
    session.service = service
    schedule_step(session, send_number=1, step=0, due_at=now)
    return session


def _session_check(session: FactorCode, payload: str, now: datetime) -> CheckResult:
    """Compare and book one answer; the session row is locked by the caller."""
    if session.status == Status.APPROVED:
        return CheckResult.REPLAYED
    if session.status not in _CHECKABLE or session.expires_at <= now:
        raise FactorCodeUnavailable()
    if len(payload) != session.code_length:
        raise InvalidParameter("AuthPayload", f"must be exactly {session.code_length} digits")
    if code_matches(session, payload):
        won = session_end(
            session,
            Status.APPROVED,
            now,
            filters={"expires_at__gt": now, "check_attempts__lt": MAX_CHECK_ATTEMPTS},
        )
        return CheckResult.APPROVED if won else CheckResult.REPLAYED
    FactorCode.objects.filter(
        pk=session.pk, status__in=_CHECKABLE, check_attempts__lt=MAX_CHECK_ATTEMPTS
    ).update(check_attempts=F("check_attempts") + 1, date_updated=now)
    session.refresh_from_db(fields=["check_attempts"])
    if session.check_attempts >= MAX_CHECK_ATTEMPTS:
        session_end(session, Status.MAX_ATTEMPTS_REACHED, now)
    return CheckResult.WRONG


def _lock_session(**filters: Any) -> FactorCode | None:
    return (
        FactorCode.objects.select_for_update(of=("self",))
        .select_related("service")
        .filter(**filters)
        .order_by("-date_created", "-pk")
        .first()
    )


# --- the enrolment (plugged into `factors.phone`) -------------------------------------------


def enrollment_start(*, factor: Factor, now: datetime) -> None:
    """Inside factor creation's transaction: the enrolment code goes out after commit on the
    factor's own channel only, since it proves that this channel reaches the user."""
    now = current_time(now)
    plan = phone_plan_for(factor=factor, param="FactorType", fallback=False)
    _session_start(
        factor=factor, plan=plan, expires_at=now + timedelta(seconds=LIFETIME_SECONDS), now=now
    )


def enrollment_check(*, factor: Factor, payload: str, now: datetime) -> CheckResult:
    session = _lock_session(factor_id=factor.pk, challenge__isnull=True)
    if session is None:
        raise FactorCodeUnavailable()
    return _session_check(session, payload, now)


# --- challenges -----------------------------------------------------------------------------


def phone_challenge_start(
    *, factor: Factor, challenge_id: str, expires_at: datetime, now: datetime
):
    """Inside challenge creation's transaction, with the factor locked: a fresh code for
    this challenge, following the fallback plan from the factor's channel on."""
    _check_send_budget(factor, now)
    plan = phone_plan_for(factor=factor, param="FactorSid", fallback=True)
    return _session_start(
        factor=factor, plan=plan, expires_at=expires_at, now=now, challenge_id=challenge_id
    )


def phone_challenge_check(*, challenge_id: str, payload: str, now: datetime) -> CheckResult:
    """Inside the answer's transaction (challenge and factor locked)."""
    session = _lock_session(challenge_id=challenge_id)
    if session is None:
        raise FactorCodeUnavailable()
    return _session_check(session, payload, now)


def phone_challenge_close(*, challenge_id: str, target: str, now: datetime) -> bool:
    """The challenge ended (approved by a recovery code, denied or expired): erase the
    sealed code and cancel what is still scheduled. Nothing is sent after it ended."""
    session = _lock_session(challenge_id=challenge_id)
    if session is None:
        return False
    return session_end(session, target, now)


def factor_code_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The expiry sweeper of phone codes: a pending code past its lifetime loses its sealed
    copy and its scheduled steps (the challenge's own sweeper writes `challenge.expired`)."""
    with transaction.atomic():
        now = current_time(now)
        due = list(
            FactorCode.objects.select_for_update(skip_locked=True)
            .select_related("service")
            .filter(status=Status.PENDING, expires_at__lte=now)
            .order_by("expires_at")[:limit]
        )
        return sum(session_end(code, Status.EXPIRED, now) for code in due)
