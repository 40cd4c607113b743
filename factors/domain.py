"""Writes and transitions for factors, and the one place a code is checked.

`factor_check_code` is shared by factor verification and challenges. Inside the caller's
transaction it locks the factor row (so the throttle gate and the failure count cannot be
outrun by parallel guesses, RFC 4226 7.3), then lets a conditional UPDATE on
`last_accepted_step` decide whether a TOTP code wins: a step is accepted once, and never a
step at or below one already accepted.
"""

from __future__ import annotations

import enum
import hmac
import logging
import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Model, Q

from entities.domain import entity_delete, entity_get_or_create
from entities.models import Entity
from factors import phone, recovery, totp
from factors.errors import FactorLocked, FactorThrottled
from factors.models import PHONE_FACTOR_CHANNELS, Factor, FactorType, RecoveryCode, TotpAlgorithm
from services.domain import event_record
from services.models import Service
from verify_platform.lib import crypto
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter
from verify_platform.lib.phones import TEXT_CHANNELS, is_landline, mask_phone, normalize_phone
from verify_platform.lib.statements import Tail, update_sql_then_insert, update_then_insert
from verify_platform.lib.transitions import compare_and_set

logger = logging.getLogger("verify_platform.factors")

DEFAULT_ALG = TotpAlgorithm.SHA1
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
    WRONG = "wrong"
    REPLAYED = "replayed"  # a valid code for a step already used (or an earlier one)


def factor_event_payload(factor: Factor, *, status: str | None = None) -> dict[str, Any]:
    """Twilio's v2 webhook parameter names; never the seed or a code."""
    return {
        "account_sid": factor.service.account_id,
        "service_sid": factor.service_id,
        "entity_sid": factor.entity_id,
        "entity_identity": factor.entity.identity,
        "factor_sid": factor.sid,
        "factor_type": factor.factor_type,
        "factor_friendly_name": factor.friendly_name,
        "factor_metadata": factor.metadata,
        "status": status or factor.status,
    }


def _record(factor: Factor, type: str, *, status: str | None = None) -> None:
    event_record(
        service=factor.service,
        type=type,
        resource_sid=factor.sid,
        payload=factor_event_payload(factor, status=status),
    )


# --- creation -------------------------------------------------------------------------------


def factor_create(
    *,
    service: Service,
    identity: str,
    factor_type: str,
    friendly_name: str,
    secret: str | None = None,
    phone_number: str | None = None,
    alg: str | None = None,
    code_length: int | None = None,
    time_step: int | None = None,
    skew: int | None = None,
    metadata: dict | None = None,
) -> tuple[Factor, dict[str, Any]]:
    """Create a factor (and its entity when missing, as Twilio does).

    Returns the factor and its `binding`, which holds the only clear copy of the seed or
    codes that will ever leave the server."""
    if factor_type == FactorType.RECOVERY_CODES:
        return recovery_codes_create(
            service=service, identity=identity, friendly_name=friendly_name, metadata=metadata
        )
    if factor_type in PHONE_FACTOR_CHANNELS:
        return phone_factor_create(
            service=service,
            identity=identity,
            factor_type=factor_type,
            friendly_name=friendly_name,
            phone_number=phone_number,
            metadata=metadata,
        )
    if factor_type != FactorType.TOTP:
        raise InvalidParameter("FactorType", f"{factor_type!r} is not supported")

    alg = alg or DEFAULT_ALG
    resolved = {
        "alg": alg,
        "code_length": code_length if code_length is not None else service.totp_code_length,
        "time_step": time_step if time_step is not None else service.totp_time_step,
        "skew": skew if skew is not None else service.totp_skew,
    }
    if secret is None:
        seed = totp.generate_secret(alg)
    else:
        try:
            seed = totp.normalize_secret(secret)
        except ValueError as exc:
            raise InvalidParameter("Binding.Secret", str(exc)) from None

    with transaction.atomic():
        entity = entity_get_or_create(service=service, identity=identity)
        factor = Factor.objects.create(
            service=service,
            entity=entity,
            factor_type=FactorType.TOTP,
            friendly_name=friendly_name,
            secret_encrypted=crypto.encrypt(seed),
            metadata=metadata,
            **resolved,
        )
        _record(factor, "factor.created")
    uri = totp.provisioning_uri(
        secret=seed,
        issuer=service.effective_totp_issuer,
        label=friendly_name,
        alg=resolved["alg"],
        digits=resolved["code_length"],
        period=resolved["time_step"],
    )
    return factor, {"secret": seed, "uri": uri, "qr_code": totp.qr_data_uri(uri)}


def recovery_codes_create(
    *, service: Service, identity: str, friendly_name: str, metadata: dict | None = None
) -> tuple[Factor, dict[str, Any]]:
    """A fresh set of recovery codes; the entity's previous set stops working at once.

    The entity row is locked so two concurrent requests cannot leave two live sets."""
    codes = [recovery.generate() for _ in range(recovery.CODE_COUNT)]
    with transaction.atomic():
        entity = entity_get_or_create(service=service, identity=identity)
        Entity.objects.select_for_update().filter(pk=entity.pk).first()
        old = Factor.objects.select_related("service", "entity").filter(
            entity=entity, factor_type=FactorType.RECOVERY_CODES
        )
        for previous in old:
            _record(previous, "factor.deleted", status="deleted")
            previous.delete()
        # No enrolment step: whoever holds the codes has just been shown them.
        factor = Factor.objects.create(
            service=service,
            entity=entity,
            factor_type=FactorType.RECOVERY_CODES,
            status=Factor.Status.VERIFIED,
            friendly_name=friendly_name,
            metadata=metadata,
        )
        rows = []
        for code in codes:
            salt = recovery.new_salt()
            rows.append(
                RecoveryCode(
                    factor=factor,
                    salt=salt,
                    code_hash=recovery.hash_code(recovery.canonical(code), salt),
                )
            )
        RecoveryCode.objects.bulk_create(rows)
        _record(factor, "factor.created")
    factor.recovery_remaining = len(codes)
    return factor, {"codes": codes}


def phone_factor_create(
    *,
    service: Service,
    identity: str,
    factor_type: str,
    friendly_name: str,
    phone_number: str | None,
    metadata: dict | None = None,
    now: datetime | None = None,
) -> tuple[Factor, dict[str, Any]]:
    """An unverified sms, whatsapp or voice factor; its enrolment code is sent after commit
    and `factor_update(auth_payload=...)` with that code verifies it.

    The number follows the Verifications API's rules for `To` (E.164, no landline for text
    channels); anything refused here never reaches an adapter. It is stored encrypted and
    returned in full only in this call's binding."""
    number = normalize_phone(phone_number) if phone_number else None
    if number is None:
        raise InvalidParameter("Binding.PhoneNumber", "must be an E.164 phone number")
    channel = PHONE_FACTOR_CHANNELS[factor_type]
    if channel in TEXT_CHANNELS and is_landline(number):
        raise InvalidParameter("Binding.PhoneNumber", f"a landline cannot receive {channel}")
    now = current_time(now)
    with transaction.atomic():
        entity = entity_get_or_create(service=service, identity=identity)
        factor = Factor.objects.create(
            service=service,
            entity=entity,
            factor_type=factor_type,
            friendly_name=friendly_name,
            phone_number_encrypted=crypto.encrypt(number),
            phone_number_masked=mask_phone(number),
            metadata=metadata,
        )
        phone.engine().enrollment_start(factor=factor, now=now)
        _record(factor, "factor.created")
    return factor, {"phone_number": number}


# --- updates --------------------------------------------------------------------------------


def _remap_step(last: int | None, old_step: int, new_step: int) -> int | None:
    """The last step, in the new step length, that overlaps time already accepted, so a
    change of `time_step` cannot reopen a window that was used."""
    if last is None or old_step == new_step:
        return last
    return math.ceil((last + 1) * old_step / new_step) - 1


def factor_update(
    *,
    factor: Factor,
    friendly_name: str | None = None,
    config: dict[str, Any] | None = None,
    auth_payload: str | None = None,
    now: datetime | None = None,
) -> Factor:
    """Rename, reconfigure and/or verify. A valid `auth_payload` moves an unverified factor
    to verified; a wrong one leaves it unverified (and counts as a failure)."""
    now = current_time(now)
    config = {k: v for k, v in (config or {}).items() if v is not None}
    if config and factor.factor_type != FactorType.TOTP:
        raise InvalidParameter("Config", "this factor type has no configuration")
    if auth_payload is not None and factor.status == Factor.Status.UNVERIFIED:
        factor_validate_payload(factor=factor, payload=auth_payload, allow_recovery=False)

    with transaction.atomic():
        current = Factor.objects.select_for_update().get(pk=factor.pk)
        changes: dict[str, Any] = {}
        if friendly_name is not None:
            changes["friendly_name"] = friendly_name
        if config:
            changes.update(config)
            if "time_step" in config:
                changes["last_accepted_step"] = _remap_step(
                    current.last_accepted_step, current.time_step, config["time_step"]
                )
        if changes:
            Factor.objects.filter(pk=factor.pk).update(**changes, date_updated=now)
        if auth_payload is not None and current.status == Factor.Status.UNVERIFIED:
            match = None
            if current.factor_type in PHONE_FACTOR_CHANNELS:
                match = lambda: phone.engine().enrollment_check(  # noqa: E731
                    factor=current, payload=auth_payload, now=now
                )
            result = factor_check_code(
                factor_id=factor.pk, payload=auth_payload, now=now, match=match
            )
            if result is CheckResult.APPROVED and compare_and_set(
                Factor,
                pk=factor.pk,
                sources=[Factor.Status.UNVERIFIED],
                target=Factor.Status.VERIFIED,
                date_updated=now,
            ):
                verified = Factor.objects.select_related("service", "entity").get(pk=factor.pk)
                _record(verified, "factor.verified")
    return Factor.objects.select_related("service", "entity").get(pk=factor.pk)


def factor_delete(*, factor: Factor) -> None:
    """Deletes the factor with its challenges and recovery codes."""
    with transaction.atomic():
        _record(factor, "factor.deleted", status="deleted")
        factor.delete()


def factors_delete_with_entity(*, entity: Entity) -> int:
    """Deletes an entity the way a tenant's backend can follow: each of its factors leaves a
    `factor.deleted` event (as `factor_delete` does) before the entity and everything under
    it go in one transaction. Returns how many factors went with it."""
    with transaction.atomic():
        factors = list(
            Factor.objects.select_for_update()
            .select_related("service", "entity")
            .filter(entity_id=entity.pk)
            .order_by("date_created", "sid")
        )
        for factor in factors:
            _record(factor, "factor.deleted", status="deleted")
        entity_delete(entity=entity)
    return len(factors)


def factor_unlock(*, factor: Factor, now: datetime | None = None) -> bool:
    """Operator action: lift the lock and forget the failures. True if it was locked."""
    return (
        Factor.objects.filter(pk=factor.pk, locked=True).update(
            locked=False, consecutive_failures=0, next_check_at=None, date_updated=current_time(now)
        )
        == 1
    )


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
)


def _gate(factor: Factor, now: datetime) -> None:
    if factor.locked:
        raise FactorLocked()
    if factor.next_check_at is not None and now < factor.next_check_at:
        wait = math.ceil((factor.next_check_at - now).total_seconds())
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
        return CheckResult.APPROVED if consumed else CheckResult.WRONG
    if match is not None:
        return match()
    step = _matching_totp_step(factor, payload, now)
    if step is None:
        return CheckResult.WRONG
    won = Factor.objects.filter(_fresh_step(step), pk=factor.pk).update(last_accepted_step=step)
    return CheckResult.APPROVED if won == 1 else CheckResult.REPLAYED


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


def _fresh_step(step: int) -> Q:
    return Q(last_accepted_step__isnull=True) | Q(last_accepted_step__lt=step)


_BOOK_STEP_SQL: dict[str, str] = {}


def _book_step_sql(connection) -> str:
    """The booking UPDATE of `_book_open_totp_step`, written once per process from the
    model's metadata (identifiers only, quoted; every value is a parameter): the hottest
    write would otherwise build and compile a queryset on every request."""
    sql = _BOOK_STEP_SQL.get(connection.alias)
    if sql is None:
        quote = connection.ops.quote_name
        meta = Factor._meta

        def column(name: str) -> str:
            return quote(meta.get_field(name).column)

        step, check_at = column("last_accepted_step"), column("next_check_at")
        sql = _BOOK_STEP_SQL[connection.alias] = (
            f"UPDATE {quote(meta.db_table)} SET {step} = %s, "  # noqa: S608 (identifiers only)
            f"{column('consecutive_failures')} = 0, {check_at} = NULL, "
            f"{column('date_last_used')} = %s "
            f"WHERE {column('sid')} = %s AND ({step} IS NULL OR {step} < %s) "
            f"AND ({check_at} IS NULL OR {check_at} <= %s) AND NOT {column('locked')} "
            f"AND {column('alg')} = %s AND {column('code_length')} = %s "
            f"AND {column('time_step')} = %s RETURNING {column('sid')}"
        )
    return sql


def _book_open_totp_step(
    factor: Factor,
    step: int,
    now: datetime,
    inserts: Sequence[Model] = (),
    tail: Tail | None = None,
) -> bool:
    """Accept `step` and reset the failure count in one UPDATE, only if no step at or after it
    was accepted (replay protection by compare-and-set), the factor is neither locked nor
    throttled at `now`, and its code parameters are still the ones the step was computed
    with (a concurrent `Config` update would otherwise book a step in the wrong unit);
    `inserts` and `tail` are stored in the same statement, only if it won."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        return update_sql_then_insert(
            connection,
            key=_book_step_sql,
            update_sql=_book_step_sql(connection),
            params=[
                step,
                now,
                factor.pk,
                step,
                now,
                factor.alg,
                factor.code_length,
                factor.time_step,
            ],
            inserts=inserts,
            tail=tail,
        )
    open_now = Q(next_check_at__isnull=True) | Q(next_check_at__lte=now)
    return update_then_insert(
        Factor.objects.filter(
            _fresh_step(step),
            open_now,
            pk=factor.pk,
            locked=False,
            alg=factor.alg,
            code_length=factor.code_length,
            time_step=factor.time_step,
        ),
        {
            "last_accepted_step": step,
            "consecutive_failures": 0,
            "next_check_at": None,
            "date_last_used": now,
        },
        inserts,
        tail,
    )


def factor_totp_approve(
    *,
    factor: Factor,
    payload: str,
    now: datetime,
    inserts: Sequence[Model] = (),
    tail: Tail | None = None,
) -> bool:
    """The common case, a correct fresh TOTP code on an open factor, without a row lock and
    without a transaction: one conditional UPDATE that also stores `inserts` and `tail` (the
    approved challenge, its event and the event's deliveries) when it wins. False changes
    nothing; the caller then takes the locked path (`factor_check_code`), which gates,
    compares again and books a failure exactly. `factor` may be as the caller read it: it
    supplies the seed and the code parameters, and the UPDATE only wins while the stored
    parameters are still those."""
    if recovery.looks_like_recovery_code(payload):
        return False
    step = _matching_totp_step(factor, payload, now)
    return step is not None and _book_open_totp_step(factor, step, now, inserts, tail)


def factor_check_code(
    *,
    factor_id: str,
    payload: str,
    now: datetime | None = None,
    allow_recovery: bool = True,
    match: Callable[[], CheckResult] | None = None,
    preloaded: Factor | None = None,
) -> CheckResult:
    """Check a code against a factor and book the outcome. Call inside `transaction.atomic`.

    Raises FactorLocked / FactorThrottled (nothing is compared or counted then). Any refusal
    after comparing, including a replayed code, counts as a consecutive failure; a success
    resets the count (NIST SP 800-63B 5.2.2). `match` compares a code the server sent (a
    phone factor's enrolment or challenge code) instead of the factor's own TOTP, so phone
    codes share this throttle. With `preloaded` (the factor as the caller read it), a correct
    TOTP code is booked in one conditional UPDATE; anything else takes the locked path."""
    now = current_time(now)
    optimistic = preloaded is not None and match is None
    if optimistic and factor_totp_approve(factor=preloaded, payload=payload, now=now):
        return CheckResult.APPROVED
    factor = Factor.objects.select_for_update().only(*_CHECK_FIELDS).get(pk=factor_id)
    _gate(factor, now)
    result = _compare(factor, payload, now, allow_recovery, match)
    if result is CheckResult.REPLAYED:
        # ASVS 2.8.5: a reused code is refused and logged (never the code itself).
        logger.warning("replayed code refused factor=%s", factor.sid)
    if result is CheckResult.APPROVED:
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
