"""Writes and transitions for challenges.

Every transition is a compare-and-set from `pending` and writes its event in the same
transaction. A response locks the challenge row first, then the factor row (always in that
order), so concurrent answers to one challenge are counted exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from psycopg.types.json import Jsonb

from challenges import sql
from challenges.domain import phone
from challenges.errors import ChallengeAlreadyApproved, ChallengeAttemptsExceeded, ChallengeExpired
from challenges.models import Challenge, FactorCode
from factors import domain as factor_domain
from factors.errors import FactorNotVerified
from factors.models import PHONE_FACTOR_CHANNELS, Factor
from services.domain import event_outbox, event_record
from verify_platform.lib import metrics
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter, VerifyError
from verify_platform.lib.transitions import move

DEFAULT_LIFETIME = timedelta(minutes=5)
MAX_LIFETIME = timedelta(minutes=60)
# A sent code is valid for at most 10 minutes (NIST SP 800-63B 5.1.3.2), so a phone
# factor's challenge cannot outlive it.
MAX_PHONE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5

_TERMINAL_EVENTS = {
    Challenge.Status.APPROVED: "challenge.approved",
    Challenge.Status.DENIED: "challenge.denied",
    Challenge.Status.EXPIRED: "challenge.expired",
}


# The state a phone challenge's code is left in when the challenge ends another way.
_CODE_ENDS = {
    Challenge.Status.APPROVED: FactorCode.Status.CANCELED,  # e.g. by a recovery code
    Challenge.Status.DENIED: FactorCode.Status.MAX_ATTEMPTS_REACHED,
    Challenge.Status.EXPIRED: FactorCode.Status.EXPIRED,
}


def _factor_fields(challenge: Challenge) -> dict[str, Any]:
    """The factor's part of a challenge's event; a challenge whose factor was deleted (kept
    for the audit trail) still names it by SID."""
    if challenge.factor is not None:
        return factor_domain.factor_event_payload(challenge.factor)
    return {
        "account_sid": challenge.service.account_id,
        "service_sid": challenge.service_id,
        "entity_sid": challenge.entity_id,
        "entity_identity": challenge.entity.identity,
        "factor_sid": challenge.factor_id,
        "factor_type": None,
        "factor_friendly_name": None,
        "factor_metadata": None,
        "status": "deleted",
    }


def challenge_event_payload(challenge: Challenge) -> dict[str, Any]:
    """Twilio's v2 webhook parameter names; never the code that answered it."""
    return {
        **_factor_fields(challenge),
        "challenge_sid": challenge.sid,
        "challenge_details": {
            "message": challenge.details_message,
            "fields": challenge.details_fields,
        },
        "challenge_hidden_details": challenge.hidden_details,
        "challenge_metadata": challenge.metadata,
        "status": challenge.status,
    }


def _transition(
    challenge_pk: str,
    target: str,
    now: datetime,
    filters: dict[str, Any] | None = None,
    **extra: Any,
) -> bool:
    """pending -> target, with its event, for the one caller that wins."""
    won = move(
        Challenge,
        pk=challenge_pk,
        sources=[Challenge.Status.PENDING],
        target=target,
        filters=filters,
        date_updated=now,
        **extra,
    )
    if won:
        challenge = Challenge.objects.select_related(
            "factor__service", "factor__entity", "service", "entity"
        ).get(pk=challenge_pk)
        factor = challenge.factor
        if factor is not None and factor.factor_type in PHONE_FACTOR_CHANNELS:
            # A code ended by its own check is already closed; this covers the rest.
            phone.phone_challenge_close(
                challenge_id=challenge_pk,
                target=_CODE_ENDS[target],
                now=now,
            )
        event_record(
            service=challenge.service,
            type=_TERMINAL_EVENTS[target],
            resource_sid=challenge.sid,
            payload=challenge_event_payload(challenge),
        )
    return won


def _expire(challenge_pk: str, now: datetime) -> bool:
    """Only a challenge whose expiration date has passed can move to expired."""
    return _transition(
        challenge_pk,
        Challenge.Status.EXPIRED,
        now,
        filters={"expiration_date__lte": now},
    )


def _get(pk: str) -> Challenge:
    return Challenge.objects.select_related("service", "entity", "factor").get(pk=pk)


def _answer(challenge: Challenge, auth_payload: str, now: datetime) -> None:
    """Inside the caller's transaction, with the challenge row locked and pending."""
    match = None
    if challenge.factor.factor_type in PHONE_FACTOR_CHANNELS:
        match = lambda: phone.phone_challenge_check(  # noqa: E731
            challenge_id=challenge.pk, payload=auth_payload, now=now
        )
    result = factor_domain.factor_check_code(
        factor_id=challenge.factor_id, payload=auth_payload, now=now, match=match
    )
    if result.approved:
        _transition(
            challenge.pk,
            Challenge.Status.APPROVED,
            now,
            date_responded=now,
            recovery_codes_remaining=_recovery_remaining(challenge, result),
        )
        return
    if result is factor_domain.CheckResult.RESUBMITTED:
        return  # the code just accepted, sent again: refused, and not a guess
    Challenge.objects.filter(pk=challenge.pk).update(
        failed_attempts=F("failed_attempts") + 1, date_updated=now
    )
    if challenge.failed_attempts + 1 >= MAX_ATTEMPTS:
        _transition(challenge.pk, Challenge.Status.DENIED, now, date_responded=now)


def _recovery_remaining(challenge: Challenge, result: factor_domain.CheckResult) -> int | None:
    """What a challenge approved by a recovery code reports (an extension); None otherwise."""
    if result is not factor_domain.CheckResult.APPROVED_BY_RECOVERY_CODE:
        return None
    return factor_domain.recovery_codes_remaining(entity_id=challenge.entity_id)


def _approve_in_one_statement(challenge: Challenge, auth_payload: str, now: datetime) -> bool:
    """A correct, fresh TOTP code on an open factor (`challenges.sql.TOTP_CHALLENGE_APPROVE`):
    the factor's step, the challenge inserted approved, its event and the event's webhook
    deliveries, without a lock or a transaction. False writes nothing; the caller then takes
    the locked path, which gates, compares again and books a failure exactly. The factor may
    be as the caller read it: it supplies the seed and the code parameters, and the statement
    only wins while the stored parameters are still those."""
    factor = challenge.factor
    step = factor_domain.factor_totp_step(factor=factor, payload=auth_payload, now=now)
    if step is None:
        return False
    challenge.status = Challenge.transitions.created_as(Challenge.Status.APPROVED)
    challenge.date_responded = now
    outbox = event_outbox(
        service=challenge.service,
        type=_TERMINAL_EVENTS[Challenge.Status.APPROVED],
        resource_sid=challenge.sid,
        payload=challenge_event_payload(challenge),
    )
    stamp = current_time()
    params = {
        **factor_domain.totp_step_params(factor, step, now),
        **outbox.params(),
        "challenge": challenge.sid,
        "service": challenge.service_id,
        "entity": challenge.entity_id,
        "status": challenge.status,
        "responded_reason": challenge.responded_reason,
        "expiration_date": challenge.expiration_date,
        "details_message": challenge.details_message,
        "details_fields": Jsonb(challenge.details_fields),
        "hidden_details": _json(challenge.hidden_details),
        "metadata": _json(challenge.metadata),
        "stamp": stamp,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.TOTP_CHALLENGE_APPROVE, params)
        row = cursor.fetchone()
    if row is None:
        challenge.status, challenge.date_responded = Challenge.Status.PENDING, None
        return False
    challenge.date_created = challenge.date_updated = stamp
    outbox.stored(row[0])
    metrics.factor_checked(factor_type=factor.factor_type, result="approved")
    return True


def _json(value: Any) -> Jsonb | None:
    """A nullable JSON column: SQL NULL for None (as the ORM stores it), else the document."""
    return None if value is None else Jsonb(value)


def challenge_expiration(expiration_date: datetime | None, now: datetime) -> datetime:
    """`ExpirationDate` (future, at most 60 minutes away) or the default, for every kind."""
    if expiration_date is None:
        return now + DEFAULT_LIFETIME
    if expiration_date <= now or expiration_date > now + MAX_LIFETIME:
        raise InvalidParameter(
            "ExpirationDate", "must be in the future and at most 60 minutes from now"
        )
    return expiration_date


def challenge_create(
    *,
    factor: Factor,
    auth_payload: str | None = None,
    expiration_date: datetime | None = None,
    details_message: str | None = None,
    details_fields: list[dict[str, str]] | None = None,
    hidden_details: dict | None = None,
    metadata: dict | None = None,
    now: datetime | None = None,
) -> Challenge:
    """Create a challenge; with `auth_payload` it is evaluated at once (approved, or pending
    for a wrong code). Malformed codes and throttled factors fail before anything is stored."""
    now = current_time(now)
    if factor.status != Factor.Status.VERIFIED:
        raise FactorNotVerified()
    if factor.factor_type in PHONE_FACTOR_CHANNELS:
        return _phone_challenge_create(
            factor=factor,
            auth_payload=auth_payload,
            expiration_date=expiration_date,
            details_message=details_message,
            details_fields=details_fields,
            hidden_details=hidden_details,
            metadata=metadata,
            now=now,
        )
    expiration_date = challenge_expiration(expiration_date, now)
    if auth_payload is not None:
        factor_domain.factor_validate_payload(factor=factor, payload=auth_payload)
    challenge = Challenge(
        service_id=factor.service_id,
        entity_id=factor.entity_id,
        factor=factor,
        expiration_date=expiration_date,
        details_message=details_message,
        details_fields=details_fields or [],
        hidden_details=hidden_details,
        metadata=metadata,
    )
    # Answer objects: the rendering and the event read them from memory, not the database.
    challenge.service, challenge.entity = factor.service, factor.entity
    if auth_payload is None:
        challenge.save(force_insert=True)
        return challenge
    if _approve_in_one_statement(challenge, auth_payload, now):
        return challenge
    with transaction.atomic():
        # The challenge is inserted already answered: until this transaction commits nobody
        # else can see it, so its status needs no compare-and-set. The optimistic UPDATE has
        # just failed, so the check takes the locked path at once.
        result = factor_domain.factor_check_code(factor_id=factor.pk, payload=auth_payload, now=now)
        if result.approved:
            challenge.status = Challenge.transitions.created_as(Challenge.Status.APPROVED)
            challenge.date_responded = now
            challenge.recovery_codes_remaining = _recovery_remaining(challenge, result)
        elif result is not factor_domain.CheckResult.RESUBMITTED:
            challenge.failed_attempts = 1  # of MAX_ATTEMPTS: a first wrong code never denies
        challenge.save(force_insert=True)
        if challenge.status != Challenge.Status.PENDING:
            event_record(
                service=challenge.service,
                type=_TERMINAL_EVENTS[challenge.status],
                resource_sid=challenge.sid,
                payload=challenge_event_payload(challenge),
            )
    return challenge


def _phone_challenge_create(
    *,
    factor: Factor,
    auth_payload: str | None,
    expiration_date: datetime | None,
    now: datetime,
    **fields: Any,
) -> Challenge:
    """A challenge on a phone factor sends a fresh code bound to it; the answer comes later
    through `challenge_respond`, so `AuthPayload` on create is refused."""
    if auth_payload is not None:
        raise InvalidParameter("AuthPayload", "a phone factor's code is sent after the create")
    if expiration_date is None:
        expiration_date = now + DEFAULT_LIFETIME
    elif expiration_date <= now or expiration_date > now + MAX_PHONE_LIFETIME:
        raise InvalidParameter(
            "ExpirationDate", "must be in the future and at most 10 minutes from now"
        )
    with transaction.atomic():
        locked = Factor.objects.select_for_update().select_related("service").get(pk=factor.pk)
        challenge = Challenge.objects.create(
            service_id=factor.service_id,
            entity_id=factor.entity_id,
            factor=factor,
            expiration_date=expiration_date,
            details_message=fields["details_message"],
            details_fields=fields["details_fields"] or [],
            hidden_details=fields["hidden_details"],
            metadata=fields["metadata"],
        )
        phone.phone_challenge_start(
            factor=locked, challenge_id=challenge.pk, expires_at=expiration_date, now=now
        )
    return _get(challenge.pk)


def challenge_respond(
    *,
    challenge: Challenge,
    auth_payload: str | None = None,
    metadata: dict | None = None,
    now: datetime | None = None,
) -> Challenge:
    """Answer a pending challenge. Five wrong codes deny it; after that every answer is
    429/60308. A challenge past its expiration date is expired (and the answer refused)."""
    now = current_time(now)
    if auth_payload is not None:
        factor_domain.factor_validate_payload(factor=challenge.factor, payload=auth_payload)

    error: VerifyError | None = None
    with transaction.atomic():
        current = Challenge.objects.select_for_update().get(pk=challenge.pk)
        if metadata is not None:
            Challenge.objects.filter(pk=current.pk).update(metadata=metadata, date_updated=now)
        if auth_payload is not None:
            status = current.status_at(now)
            if status == Challenge.Status.PENDING:
                _answer(current, auth_payload, now)
            elif status == Challenge.Status.EXPIRED:
                _expire(current.pk, now)  # committed below, then the answer is refused
                error = ChallengeExpired()
            elif status == Challenge.Status.DENIED:
                error = ChallengeAttemptsExceeded()
            else:
                error = ChallengeAlreadyApproved()
        # Read under the row lock: the answer shows what this request did, not what a
        # concurrent answer that commits right after it made of the challenge.
        answered = _get(challenge.pk) if error is None else None
    if error is not None:
        raise error
    return answered


def challenge_expire_if_due(*, challenge: Challenge, now: datetime | None = None) -> Challenge:
    """Write the expiry a reader would otherwise only see computed (status on read)."""
    now = current_time(now)
    if challenge.status == Challenge.Status.PENDING and challenge.expiration_date <= now:
        with transaction.atomic():
            _expire(challenge.pk, now)
        return _get(challenge.pk)
    return challenge


def challenge_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The sweeper: expire pending challenges past their date. Returns how many it moved;
    concurrent sweepers (or readers) lose the compare-and-set harmlessly."""
    now = current_time(now)
    due = list(
        Challenge.objects.filter(
            status=Challenge.Status.PENDING, expiration_date__lte=now
        ).values_list("pk", flat=True)[:limit]
    )
    moved = 0
    for pk in due:
        with transaction.atomic():
            moved += _expire(pk, now)
    return moved
