"""Passkeys challenges (Twilio's `Passkeys/Challenges` and `Passkeys/ApproveChallenge`).

A challenge for an identity or a factor is a pending `Challenge` row (in the entity's list,
expired by the sweeper like any other) plus its WebAuthn side row (`PasskeyChallenge`); a
usernameless one (neither given: the browser offers the service's discoverable passkeys) is
only the side row until a passkey answers, when its `Challenge` row is inserted approved for
that passkey's entity and factor.

An answer is checked by the `webauthn` library first (no lock held), then approved in one
transaction that locks the credential row, then the side row: a challenge answered already
(a replayed assertion, or the loser of two concurrent answers) is refused 60322, one past
its date 60323, and a valid signature whose counter did not move forward is recorded as a
possible clone and refused. Only then the side row moves pending -> approved and the
`Challenge` row pending -> approved (both compare-and-sets), with `challenge.approved`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from challenges.domain.challenges import (
    DEFAULT_LIFETIME,
    challenge_event_payload,
    challenge_expire_if_due,
)
from challenges.errors import ChallengeAlreadyApproved, ChallengeExpired
from challenges.models import Challenge
from challenges.passkey_models import PasskeyChallenge
from entities.models import Entity
from factors import passkeys
from factors.domain.passkeys import user_handle, verified_credentials
from factors.domain.passkeys_counter import (
    passkey_clone_record,
    passkey_counter_advance,
    passkey_credential_lock,
)
from factors.errors import FactorNotVerified
from factors.models import Factor, FactorType, PasskeyCredential
from factors.passkey_errors import PasskeyCloneDetected, PasskeyVerificationFailed
from services.domain import event_record
from services.models import Service
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import InvalidParameter, NotFound, VerifyError
from verify_platform.lib.transitions import move

# Side rows of challenges over for a day are deleted by the expiry sweeper, in batches.
SWEEP_AFTER = timedelta(days=1)
SWEEP_LIMIT = 500


def _allowed(
    service: Service, identity: str | None, factor_sid: str | None
) -> tuple[Entity | None, Factor | None, list[tuple[str, list[str]]]]:
    """The entity, the factor the `Challenge` row names, and the passkeys that may answer."""
    if factor_sid:
        factor = (
            Factor.objects.select_related("service", "entity")
            .filter(service=service, pk=factor_sid, factor_type=FactorType.PASSKEYS)
            .first()
        )
        if factor is None or (identity and factor.entity.identity != identity):
            raise NotFound()
        if factor.status != Factor.Status.VERIFIED:
            raise FactorNotVerified()
        rows = verified_credentials(factor=factor)
        return factor.entity, factor, list(rows.values_list("credential_id", "transports"))
    if not identity:
        return None, None, []
    entity = Entity.objects.filter(service=service, identity=identity).first()
    if entity is None:
        raise NotFound()
    rows = list(
        verified_credentials(factor__entity=entity)
        .select_related("factor__service", "factor__entity")
        .order_by("-factor__date_created")
    )
    if not rows:
        raise FactorNotVerified("The entity has no verified passkey")
    # Until one answers, the row names the newest; the approval names the one that answered.
    return entity, rows[0].factor, [(row.credential_id, row.transports) for row in rows]


def passkey_challenge_create(
    *,
    service: Service,
    identity: str | None = None,
    factor_sid: str | None = None,
    now: datetime | None = None,
) -> tuple[PasskeyChallenge, Challenge | None, dict[str, Any]]:
    """A pending challenge and its `PublicKeyCredentialRequestOptions`. 60394 when the
    service has no relying party; 404 for an identity or factor not of this service; 60318
    when there is no verified passkey to ask for."""
    now = current_time(now)
    rp_id, origins, user_verification = passkeys.challenge_settings(service)
    entity, factor, allow = _allowed(service, identity, factor_sid)
    expires_at = now + DEFAULT_LIFETIME
    webauthn_challenge = passkeys.new_challenge()
    challenge = None
    with transaction.atomic():
        pending = PasskeyChallenge.objects.create(
            service=service,
            entity=entity,
            webauthn_challenge=webauthn_challenge,
            allowed_credentials=[credential_id for credential_id, _ in allow],
            rp_id=rp_id,
            origins=origins,
            user_verification=user_verification,
            expires_at=expires_at,
        )
        if entity is not None:
            challenge = Challenge(
                sid=pending.sid,
                service=service,
                entity=entity,
                factor=factor,
                expiration_date=expires_at,
            )
            challenge.save(force_insert=True)
    options = passkeys.request_options(
        rp_id=rp_id,
        challenge=webauthn_challenge,
        timeout_ms=int(DEFAULT_LIFETIME.total_seconds() * 1000),
        allow=allow,
        user_verification=user_verification,
    )
    return pending, challenge, options


def _credential(service: Service, pending: PasskeyChallenge, assertion: dict) -> PasskeyCredential:
    """The registered passkey the assertion names, within this service, if this challenge
    lets it answer."""
    credential_id = assertion.get("id") or assertion.get("rawId")
    if not isinstance(credential_id, str):
        raise InvalidParameter("id", "must be the base64url id of the credential")
    stored = (
        verified_credentials(service=service, credential_id=credential_id)
        .select_related("factor__service", "factor__entity")
        .first()
    )
    if stored is None:
        raise PasskeyVerificationFailed(
            "Passkey verification failed: no registered passkey of this service has this id"
        )
    if (pending.allowed_credentials and credential_id not in pending.allowed_credentials) or (
        pending.entity_id is not None and stored.factor.entity_id != pending.entity_id
    ):
        raise PasskeyVerificationFailed(
            "Passkey verification failed: this passkey may not answer this challenge"
        )
    if stored.clone_detected_at is not None:
        raise PasskeyCloneDetected()
    handle = passkeys.user_handle_of(assertion)
    if handle is not None and handle != user_handle(stored.factor.entity):
        raise PasskeyVerificationFailed(
            "Passkey verification failed: userHandle is not the passkey's user"
        )
    return stored


def _over(pending: PasskeyChallenge, now: datetime) -> VerifyError | None:
    if pending.status != PasskeyChallenge.Status.PENDING:
        return ChallengeAlreadyApproved()
    if pending.expires_at <= now:
        return ChallengeExpired()
    return None


def _approve(pending: PasskeyChallenge, factor: Factor, now: datetime) -> None:
    """Inside the transaction, with the side row locked and pending: both compare-and-sets
    and the event."""
    if not move(PasskeyChallenge, pk=pending.pk, target=PasskeyChallenge.Status.APPROVED):
        raise ChallengeAlreadyApproved()
    if pending.entity_id is None:
        Challenge.objects.create(
            sid=pending.sid,
            service_id=pending.service_id,
            entity_id=factor.entity_id,
            factor=factor,
            status=Challenge.transitions.created_as(Challenge.Status.APPROVED),
            expiration_date=pending.expires_at,
            date_responded=now,
        )
    elif not move(
        Challenge,
        pk=pending.pk,
        sources=[Challenge.Status.PENDING],
        target=Challenge.Status.APPROVED,
        filters={"expiration_date__gt": now},
        date_updated=now,
        date_responded=now,
        factor=factor,
    ):
        raise ChallengeExpired()  # the sweeper expired it: nothing of this answer stays
    challenge = Challenge.objects.select_related(
        "factor__service", "factor__entity", "service", "entity"
    ).get(pk=pending.pk)
    event_record(
        service=challenge.service,
        type="challenge.approved",
        resource_sid=challenge.sid,
        payload=challenge_event_payload(challenge),
    )


def passkey_challenge_approve(
    *, service: Service, assertion: dict[str, Any], now: datetime | None = None
) -> Challenge:
    """Check an assertion from `navigator.credentials.get()` and approve the challenge it
    answers (found by the WebAuthn challenge in its `clientDataJSON`, within this service)."""
    now = current_time(now)
    webauthn_challenge = passkeys.client_data_challenge(assertion)
    pending = PasskeyChallenge.objects.filter(
        service=service, webauthn_challenge=webauthn_challenge
    ).first()
    if pending is None:
        raise NotFound()
    error = _over(pending, now)
    if error is None:
        stored = _credential(service, pending, assertion)
        checked = passkeys.check_assertion(
            assertion,
            challenge=webauthn_challenge,
            rp_id=pending.rp_id,
            origins=list(pending.origins),
            public_key=bytes(stored.public_key),
            require_user_verification=pending.user_verification == "required",
        )
        with transaction.atomic():
            locked = passkey_credential_lock(factor_id=stored.pk)
            current = PasskeyChallenge.objects.select_for_update().get(pk=pending.pk)
            error = _over(current, now)
            if error is None and passkeys.counter_went_back(
                checked.new_sign_count, locked.sign_count
            ):
                passkey_clone_record(factor_id=stored.pk, now=now)
                error = PasskeyCloneDetected()
            if error is None:
                passkey_counter_advance(
                    factor_id=stored.pk, sign_count=checked.new_sign_count, now=now
                )
                _approve(current, stored.factor, now)
    if isinstance(error, ChallengeExpired) and pending.entity_id is not None:
        row = Challenge.objects.filter(pk=pending.pk).first()
        if row is not None:
            challenge_expire_if_due(challenge=row, now=now)
    if error is not None:
        raise error
    return Challenge.objects.select_related("service", "entity", "factor").get(pk=pending.pk)


def passkey_challenges_sweep(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Delete WebAuthn side rows of challenges over for a day (answered or not; a
    usernameless one nobody answered has no other row), a batch per run of the sweeper."""
    now = current_time(now)
    old = PasskeyChallenge.objects.filter(expires_at__lt=now - SWEEP_AFTER)
    deleted, _ = PasskeyChallenge.objects.filter(pk__in=old.values("pk")[:limit]).delete()
    return deleted
