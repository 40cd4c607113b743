"""Checks of a verification's code.

A correct code on a live verification is approved by one statement
(`challenges.sql.VERIFICATION_APPROVE`), from an unlocked read in the common case (it wins
only while the row is as read) and under the row lock otherwise: the same statement either
way, so the approval has one implementation. Wrong codes, expiry and a closed destination are
decided with the verification row locked.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F

from challenges import queries, sql
from challenges.domain.engine import (
    AttemptStatus,
    Status,
    code_matches,
    event_fields,
    lock_verification,
    session_end,
)
from challenges.errors import MaxCheckAttemptsReached
from challenges.models import (
    MAX_CHECK_ATTEMPTS,
    DeliveryAttempt,
    Verification,
)
from limits import domain as limits
from services.domain import event_outbox
from services.models import Account
from verify_platform.lib import metrics
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter, NotFound


def _approve(read: Verification, now: datetime) -> bool:
    """`VERIFICATION_APPROVE` on the verification as `read` (with or without its lock):
    False changes nothing (the gate is closed, or the row changed since it was read)."""
    pending, approved = Verification.transitions.edge([Status.PENDING], Status.APPROVED)
    scheduled, canceled = DeliveryAttempt.transitions.edge(
        [AttemptStatus.SCHEDULED], AttemptStatus.CANCELED
    )
    outbox = event_outbox(**event_fields(read, f"verification.{approved}"))
    params = {
        **limits.destination_params(service=read.service, to=read.to, now=now),
        **outbox.params(),
        "sid": read.pk,
        "approved": approved,
        "pending": pending,
        "max_checks": MAX_CHECK_ATTEMPTS,
        "read_updated": read.date_updated,
        "attempt_canceled": canceled,
        "attempt_scheduled": scheduled,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.VERIFICATION_APPROVE, params)
        row = cursor.fetchone()
    if row is None:
        return False
    read.status, read.code_sealed, read.date_updated = approved, "", now
    outbox.stored(row[0])
    metrics.verification_ended(status=approved, channel=read.channel, to=read.to)
    return True


def transaction_matches(read: Verification, amount: str | None, payee: str | None) -> bool:
    """PSD2 dynamic linking: a check approves only the transaction the code was sent for,
    so it must repeat the start's `Amount` and `Payee` exactly (and name none when the start
    named none). A mismatch counts as a wrong code: it tells the caller nothing more."""
    expected = f"{read.amount or ''}\x00{read.payee or ''}".encode()
    given = f"{amount or ''}\x00{payee or ''}".encode()
    return hmac.compare_digest(expected, given)


def _check(
    locked: Verification | None, code: str, now: datetime, linked: tuple[str | None, str | None]
) -> tuple[Verification, bool]:
    """The check on the locked verification. Every write sets its fields in memory as well
    (the row is locked), so the answer needs no read-back. Returns the verification and
    whether it has just been found expired (the caller answers 404 after the commit)."""
    if locked is None:
        raise NotFound()
    if locked.status == Status.MAX_ATTEMPTS_REACHED:
        metrics.refused("max_check_attempts")
        raise MaxCheckAttemptsReached()
    if locked.status != Status.PENDING:
        raise NotFound()
    if len(code) != locked.code_length:
        raise InvalidParameter("Code", f"must be {locked.code_length} digits")
    if locked.expires_at <= now:
        return locked, session_end(locked, Status.EXPIRED, now)
    # Read after the lock, in its own statement: it sees every failure committed before.
    limits.destination_gate(service=locked.service, to=locked.to, now=now)
    if code_matches(locked, code) and transaction_matches(locked, *linked):
        if not _approve(locked, now):
            raise NotFound()  # the gate closed after its read: nothing else can move the row
        return locked, False
    counted = Verification.objects.filter(
        pk=locked.pk, status=Status.PENDING, check_attempts__lt=MAX_CHECK_ATTEMPTS
    ).update(check_attempts=F("check_attempts") + 1, date_updated=now)
    if counted:
        locked.check_attempts += 1
        locked.date_updated = now
    limits.destination_failure_record(service=locked.service, to=locked.to, now=now)
    if locked.check_attempts >= MAX_CHECK_ATTEMPTS:
        session_end(locked, Status.MAX_ATTEMPTS_REACHED, now)
    return locked, False


def verification_check(
    *,
    verification: Verification,
    code: str,
    amount: str | None = None,
    payee: str | None = None,
    now: datetime | None = None,
) -> Verification:
    """One check of `code`. A wrong code counts; the fifth ends the verification. Of any
    number of concurrent correct checks exactly one approves; the rest find it ended.

    Every wrong code also counts against the destination across verifications (NIST SP
    800-63B rev. 4 3.1.3.2: a new code does not reset failures); a throttled or blocked
    destination is refused before the code is compared, and a success resets the count."""
    with transaction.atomic():
        now = current_time(now)
        locked, expired = _check(lock_verification(verification.pk), code, now, (amount, payee))
    if expired:
        raise NotFound()
    return locked


def verification_check_find(
    *,
    account: Account,
    service_sid: str,
    sid: str | None = None,
    to: str | None = None,
    code: str,
    amount: str | None = None,
    payee: str | None = None,
    now: datetime | None = None,
) -> Verification:
    """`verification_check` of the verification a check request names (by SID, or the
    latest one for `to`, in the tenant's service). A correct code on a live verification is
    approved from an unlocked read (two round trips: the read and `VERIFICATION_APPROVE`,
    which wins only while the row is as read); anything else takes the locked path."""
    now = current_time(now)
    read = queries.verification_find_for_check(
        account=account, service_sid=service_sid, sid=sid, to=to, lock=False
    )
    if (
        read is not None
        and read.status == Status.PENDING
        and len(code) == read.code_length
        and read.expires_at > now
        and read.check_attempts < MAX_CHECK_ATTEMPTS
        and code_matches(read, code)
        and transaction_matches(read, amount, payee)
        and _approve(read, now)
    ):
        return read
    with transaction.atomic():
        locked = queries.verification_find_for_check(
            account=account, service_sid=service_sid, sid=sid, to=to
        )
        locked, expired = _check(locked, code, now, (amount, payee))
    if expired:
        raise NotFound()
    return locked
