"""The one place a code is checked: `factor_check_code`, shared by factor verification and
challenges. Inside the caller's transaction it locks the factor row (so the throttle gate and
the failure count cannot be outrun by parallel guesses, RFC 4226 7.3), then lets the booking
statement of `factors.sql` decide whether a TOTP code wins: a step is accepted once, and never
a step at or below one already accepted.

A refused code counts toward the factor's failure streak, with one exception: the code of the
step last accepted, sent again (a double-submitted login form, a retried request). Only the
holder of a code that has just worked can send it, so it tells an attacker nothing; counting
it would push the legitimate user toward the throttle and the lock.
"""

from __future__ import annotations

import enum
import hmac
import logging
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import F

from factors import recovery, sql, totp
from factors.errors import FactorLocked, FactorThrottled
from factors.models import PHONE_FACTOR_CHANNELS, Factor, FactorType, RecoveryCode
from verify_platform.lib import crypto, metrics
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter

logger = logging.getLogger("verify_platform.factors")

# Failures allowed before any waiting, the ceiling of the growing delay, and the lock
# threshold (NIST SP 800-63B 5.2.2: no more than 100 consecutive failures).
FREE_FAILURES = 5
MAX_DELAY_SECONDS = 3600
LOCK_AFTER_FAILURES = 100
# A phone code has the service's `code_length` (4-10); the exact length is checked against
# the code itself.
_PHONE_CODE = re.compile(r"[0-9]{4,10}")


class CheckResult(enum.Enum):
    APPROVED = "approved"
    # A recovery code of the entity, consumed by this check.
    APPROVED_BY_RECOVERY_CODE = "approved_by_recovery_code"
    WRONG = "wrong"
    # A valid code for a step below the last one accepted: refused and counted.
    REPLAYED = "replayed"
    # The code of the step last accepted, sent again: refused, not counted as a failure.
    RESUBMITTED = "resubmitted"

    @property
    def approved(self) -> bool:
        return self in (CheckResult.APPROVED, CheckResult.APPROVED_BY_RECOVERY_CODE)


# --- checking codes -------------------------------------------------------------------------


def factor_validate_payload(*, factor: Factor, payload: str, allow_recovery: bool = True) -> None:
    """Reject malformed input as 400 before anything is compared or counted."""
    if allow_recovery and recovery.looks_like_recovery_code(payload):
        return
    if factor.factor_type == FactorType.TOTP and totp.is_code_format(payload, factor.code_length):
        return
    if factor.factor_type in PHONE_FACTOR_CHANNELS:
        if payload.isascii() and _PHONE_CODE.fullmatch(payload):
            return
        detail = "must be the code that was sent (4 to 10 ASCII digits)"
    elif factor.factor_type == FactorType.RECOVERY_CODES:
        detail = "must be a recovery code (XXXX-XXXX-XXXX-XXXX)"
    else:
        detail = f"must be exactly {factor.code_length} ASCII digits"
    raise InvalidParameter("AuthPayload", detail)


# What the locked path reads: the gate, the failure count and the code parameters.
_CHECK_FIELDS = (
    "sid",
    "entity_id",
    "factor_type",
    "secret_encrypted",
    "alg",
    "code_length",
    "time_step",
    "skew",
    "consecutive_failures",
    "next_check_at",
    "locked",
    "last_accepted_step",
)


def _gate(factor: Factor, now: datetime) -> None:
    if factor.locked:
        metrics.refused("factor_locked")
        raise FactorLocked()
    if factor.next_check_at is not None and now < factor.next_check_at:
        wait = math.ceil((factor.next_check_at - now).total_seconds())
        metrics.refused("factor_throttled")
        raise FactorThrottled(retry_after=max(wait, 1))


def _delay_after(failures: int) -> int | None:
    if failures < FREE_FAILURES:
        return None
    return min(2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS)


def _consume_recovery_code(*, entity_id: str, canonical: str, now: datetime) -> bool:
    """Every unused code of the entity is hashed and compared (no early exit), then the
    match is consumed by a conditional UPDATE: of concurrent users of one code, one wins."""
    candidates = RecoveryCode.objects.filter(
        factor__entity_id=entity_id,
        factor__factor_type=FactorType.RECOVERY_CODES,
        date_used__isnull=True,
    ).values_list("pk", "salt", "code_hash", "factor_id")
    match = None
    for pk, salt, code_hash, factor_id in candidates:
        if hmac.compare_digest(recovery.hash_code(canonical, salt), code_hash):
            match = (pk, factor_id)
    if match is None:
        return False
    won = RecoveryCode.objects.filter(pk=match[0], date_used__isnull=True).update(date_used=now)
    if won:
        Factor.objects.filter(pk=match[1]).update(date_last_used=now)
    return won == 1


def recovery_codes_remaining(*, entity_id: str) -> int:
    """How many codes of the entity's recovery set are still unused: what a challenge
    approved by one of them reports, so the user knows when to make a new set."""
    return RecoveryCode.objects.filter(
        factor__entity_id=entity_id,
        factor__factor_type=FactorType.RECOVERY_CODES,
        date_used__isnull=True,
    ).count()


def _compare(
    factor: Factor,
    payload: str,
    now: datetime,
    allow_recovery: bool,
    match: Callable[[], CheckResult] | None,
) -> CheckResult:
    canonical = recovery.canonical(payload) if allow_recovery else None
    if canonical is not None:
        consumed = _consume_recovery_code(entity_id=factor.entity_id, canonical=canonical, now=now)
        return CheckResult.APPROVED_BY_RECOVERY_CODE if consumed else CheckResult.WRONG
    if match is not None:
        return match()
    step = _matching_totp_step(factor, payload, now)
    if step is None:
        return CheckResult.WRONG
    if _book_step(factor, step, now):
        return CheckResult.APPROVED
    # The booking lost: `step` is at or below the last accepted step, read under the row lock.
    if step == factor.last_accepted_step:
        return CheckResult.RESUBMITTED
    return CheckResult.REPLAYED


def _matching_totp_step(factor: Factor, payload: str, now: datetime) -> int | None:
    """The time step `payload` is the factor's code for, within its skew; None otherwise."""
    if factor.factor_type != FactorType.TOTP or not totp.is_code_format(
        payload, factor.code_length
    ):
        return None
    return totp.matching_step(
        crypto.decrypt(factor.secret_encrypted),
        payload,
        now=now,
        alg=factor.alg,
        digits=factor.code_length,
        time_step=factor.time_step,
        skew=factor.skew,
    )


def totp_step_params(factor: Factor, step: int, now: datetime) -> dict[str, Any]:
    """The parameters of `factors.sql.TOTP_STEP_BOOK` for `step` of `factor` as read."""
    return {
        "factor": factor.pk,
        "step": step,
        "now": now,
        "alg": factor.alg,
        "code_length": factor.code_length,
        "time_step": factor.time_step,
    }


def _book_step(factor: Factor, step: int, now: datetime) -> bool:
    """Accept `step` (and reset the failure count) unless it or a later one was accepted."""
    with connection.cursor() as cursor:
        cursor.execute(sql.TOTP_STEP_BOOK, totp_step_params(factor, step, now))
        return cursor.fetchone() is not None


def factor_totp_step(*, factor: Factor, payload: str, now: datetime) -> int | None:
    """The time step `payload` is `factor`'s TOTP code for (a recovery code is not one), for
    a caller that books it in a statement of its own (`challenges.sql`); None otherwise."""
    if recovery.looks_like_recovery_code(payload):
        return None
    return _matching_totp_step(factor, payload, now)


def factor_check_code(
    *,
    factor_id: str,
    payload: str,
    now: datetime | None = None,
    allow_recovery: bool = True,
    match: Callable[[], CheckResult] | None = None,
) -> CheckResult:
    """Check a code against a factor and book the outcome. Call inside `transaction.atomic`.

    Raises FactorLocked / FactorThrottled (nothing is compared or counted then). Any refusal
    after comparing, including a code of an earlier step, counts as a consecutive failure; a
    success resets the count (NIST SP 800-63B 5.2.2). The code just accepted, sent again
    (`RESUBMITTED`), is refused without counting and without a write. `match` compares a
    code the server sent (a phone factor's enrolment or challenge code) instead of the
    factor's own TOTP, so phone codes share this throttle."""
    now = current_time(now)
    factor = Factor.objects.select_for_update().only(*_CHECK_FIELDS).get(pk=factor_id)
    _gate(factor, now)
    result = _compare(factor, payload, now, allow_recovery, match)
    if result is CheckResult.REPLAYED or result is CheckResult.RESUBMITTED:
        # ASVS 2.8.5: a reused code is refused and logged (never the code itself).
        logger.warning("replayed code refused factor=%s (%s)", factor.sid, result.value)
    metrics.factor_checked(factor_type=factor.factor_type, result=result.value)
    if result is CheckResult.RESUBMITTED:
        return result
    if result.approved:
        Factor.objects.filter(pk=factor.pk).update(
            consecutive_failures=0, next_check_at=None, date_last_used=now
        )
    else:
        failures = factor.consecutive_failures + 1  # exact: the row is locked
        delay = _delay_after(failures)
        Factor.objects.filter(pk=factor.pk).update(
            consecutive_failures=F("consecutive_failures") + 1,
            next_check_at=now + timedelta(seconds=delay) if delay else None,
            locked=failures >= LOCK_AFTER_FAILURES,
        )
    return result
