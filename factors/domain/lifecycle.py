"""Writes and transitions of factors: creation (with the entity, as Twilio does), updates,
verification by a first correct code, and deletion with its `factor.deleted` events."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from entities.domain import entity_delete, entity_get_or_create
from entities.models import Entity
from factors import phone, recovery, totp
from factors.domain.codes import CheckResult, factor_check_code, factor_validate_payload
from factors.models import PHONE_FACTOR_CHANNELS, Factor, FactorType, RecoveryCode, TotpAlgorithm
from services.domain import event_record
from services.models import Service
from verify_platform.lib import crypto
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter, NotFound
from verify_platform.lib.phones import TEXT_CHANNELS, is_landline, mask_phone, normalize_phone
from verify_platform.lib.transitions import move

DEFAULT_ALG = TotpAlgorithm.SHA1


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
    if factor_type == FactorType.PASSKEYS:
        raise InvalidParameter("FactorType", "a passkey is created with Passkeys/Factors (JSON)")
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
            status=Factor.transitions.created_as(Factor.Status.VERIFIED),
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
    if auth_payload is not None and factor.factor_type == FactorType.PASSKEYS:
        raise InvalidParameter("AuthPayload", "a passkey is verified with Passkeys/VerifyFactor")
    if auth_payload is not None and factor.status == Factor.Status.UNVERIFIED:
        factor_validate_payload(factor=factor, payload=auth_payload, allow_recovery=False)

    with transaction.atomic():
        current = Factor.objects.select_for_update().filter(pk=factor.pk).first()
        if current is None:  # deleted since it was read (e.g. an expired enrolment)
            raise NotFound()
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
            if result is CheckResult.APPROVED:
                factor_mark_verified(factor_id=factor.pk, now=now)
    return Factor.objects.select_related("service", "entity").get(pk=factor.pk)


def factor_mark_verified(*, factor_id: str, now: datetime, **updates: Any) -> bool:
    """unverified -> verified for a factor whose proof of possession the caller has checked
    (a first code, a device's signature, a passkey's attestation), with its `factor.verified`
    event; inside the caller's transaction. False when it was not unverified (a concurrent
    verification won). The one implementation of this move."""
    if not move(
        Factor,
        pk=factor_id,
        sources=[Factor.Status.UNVERIFIED],
        target=Factor.Status.VERIFIED,
        date_updated=now,
        **updates,
    ):
        return False
    _record(Factor.objects.select_related("service", "entity").get(pk=factor_id), "factor.verified")
    return True


def factor_delete(*, factor: Factor) -> None:
    """Deletes the factor with its recovery codes; its challenges stay (the audit trail)."""
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


# What turning two-factor sign-in off removes by default: the authenticator and the codes that
# stand in for it. Phone factors are often the account's recovery channel, so they stay
# unless named.
TWO_FACTOR_TYPES = (FactorType.TOTP, FactorType.RECOVERY_CODES)


def _delete_announced(factors: list[Factor]) -> None:
    """Delete `factors` (locked by the caller), each announced with `factor.deleted`. Their
    challenges stay (the audit trail); codes and sessions of the factors go with them."""
    for factor in factors:
        _record(factor, "factor.deleted", status="deleted")
    Factor.objects.filter(pk__in=[factor.pk for factor in factors]).delete()


def factors_delete_of_entity(
    *, entity: Entity, factor_types: Iterable[str] = TWO_FACTOR_TYPES
) -> int:
    """Turn two-factor sign-in off for an entity in one transaction: every factor of
    `factor_types` goes, each with its `factor.deleted` event. The entity row is locked as
    `recovery_codes_create` locks it, so a new recovery set made at the same moment cannot
    survive the call. Returns how many factors went (0 is not an error)."""
    with transaction.atomic():
        Entity.objects.select_for_update().filter(pk=entity.pk).first()
        factors = list(
            Factor.objects.select_for_update(of=("self",))
            .select_related("service", "entity")
            .filter(entity_id=entity.pk, factor_type__in=list(factor_types))
            .order_by("date_created", "sid")
        )
        _delete_announced(factors)
    return len(factors)


def factors_expire_unverified(*, now: datetime | None = None, limit: int = 500) -> int:
    """The sweeper's part for enrolments never completed: unverified factors older than
    `VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS` (0 keeps them) are deleted, at most `limit` per
    call, with their `factor.deleted` events. Twilio's factor has no expired status, so
    expiry is a deletion, not a status edge. Rows being verified right now are locked and
    skipped; the verification wins, and one that comes after the delete finds no factor."""
    ttl = settings.VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS
    if ttl <= 0:
        return 0
    cutoff = current_time(now) - timedelta(seconds=ttl)
    with transaction.atomic():
        factors = list(
            Factor.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("service", "entity")
            .filter(status=Factor.Status.UNVERIFIED, date_created__lte=cutoff)
            .order_by("date_created")[:limit]
        )
        _delete_announced(factors)
    return len(factors)


def factor_unlock(*, factor: Factor, now: datetime | None = None) -> bool:
    """Operator action: lift the lock and forget the failures. True if it was locked."""
    return (
        Factor.objects.filter(pk=factor.pk, locked=True).update(
            locked=False, consecutive_failures=0, next_check_at=None, date_updated=current_time(now)
        )
        == 1
    )
