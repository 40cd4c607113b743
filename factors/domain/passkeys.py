"""Writes of passkeys factors: creation with its WebAuthn registration options, and
verification by the attestation the browser returned (Twilio's `Passkeys/Factors` and
`Passkeys/VerifyFactor`). The credential's side of an approved assertion (its signature
counter) is in `passkeys_counter`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from entities.domain import entity_get_or_create
from entities.models import Entity
from factors import passkeys
from factors.domain.lifecycle import factor_event_payload, factor_mark_verified
from factors.models import Factor, FactorType, PasskeyCredential
from factors.passkey_errors import PasskeyRegistrationExpired, PasskeyVerificationFailed
from services.domain import event_record
from services.models import Service
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import NotFound

# The browser's timeout for the ceremony, and how long the registration challenge is good.
REGISTRATION_LIFETIME = timedelta(minutes=10)


def user_handle(entity: Entity) -> bytes:
    """The WebAuthn user id of an entity: its SID (opaque, never PII), which a discoverable
    passkey returns as `userHandle`."""
    return entity.sid.encode()


def verified_credentials(**filters: Any) -> QuerySet[PasskeyCredential]:
    """Registered passkeys (their factor verified), e.g. `factor__entity=entity`."""
    return PasskeyCredential.objects.filter(
        factor__status=Factor.Status.VERIFIED, **filters
    ).exclude(credential_id="")


def passkey_factor_create(
    *,
    service: Service,
    identity: str,
    friendly_name: str,
    config: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[Factor, dict[str, Any]]:
    """An unverified `passkeys` factor (and its entity when missing, as Twilio does) and the
    `PublicKeyCredentialCreationOptions` for `navigator.credentials.create()`, returned only
    here. The entity's registered passkeys are excluded, so one authenticator is not
    registered twice."""
    now = current_time(now)
    settings = passkeys.registration_settings(service, config)
    challenge = passkeys.new_challenge()
    with transaction.atomic():
        entity = entity_get_or_create(service=service, identity=identity)
        factor = Factor.objects.create(
            service=service,
            entity=entity,
            factor_type=FactorType.PASSKEYS,
            friendly_name=friendly_name,
        )
        PasskeyCredential.objects.create(
            factor=factor,
            service=service,
            registration_challenge=challenge,
            registration_expires_at=now + REGISTRATION_LIFETIME,
            config=settings.as_config(),
        )
        exclude = list(
            verified_credentials(factor__entity=entity).values_list("credential_id", "transports")
        )
        event_record(
            service=service,
            type="factor.created",
            resource_sid=factor.sid,
            payload=factor_event_payload(factor),
        )
    options = passkeys.creation_options(
        settings,
        challenge=challenge,
        user_handle=user_handle(entity),
        user_name=identity,
        timeout_ms=int(REGISTRATION_LIFETIME.total_seconds() * 1000),
        exclude=exclude,
    )
    return factor, options


def passkey_factor_verify(
    *, service: Service, credential: dict[str, Any], now: datetime | None = None
) -> Factor:
    """Check the attestation of a new passkey against the registration it answers (found by
    the challenge in its `clientDataJSON`, within this service only) and verify the factor.
    The registration challenge is erased by the winning request, so it answers once."""
    now = current_time(now)
    challenge = passkeys.client_data_challenge(credential)
    pending = (
        PasskeyCredential.objects.select_related("factor")
        .filter(service=service, registration_challenge=challenge)
        .first()
    )
    if pending is None or pending.factor.status != Factor.Status.UNVERIFIED:
        raise NotFound()
    if pending.registration_expires_at is None or pending.registration_expires_at <= now:
        raise PasskeyRegistrationExpired()
    settings = passkeys.PasskeySettings.from_config(pending.config)
    checked = passkeys.check_registration(credential, challenge=challenge, settings=settings)
    credential_id = passkeys.b64url(checked.credential_id)
    transports = (credential.get("response") or {}).get("transports") or []
    try:
        with transaction.atomic():
            won = PasskeyCredential.objects.filter(
                pk=pending.pk, registration_challenge=challenge
            ).update(
                registration_challenge=b"",
                credential_id=credential_id,
                public_key=checked.credential_public_key,
                sign_count=checked.sign_count,
                transports=[t for t in transports if isinstance(t, str)][:8],
                aaguid=checked.aaguid,
            )
            if not won or not factor_mark_verified(
                factor_id=pending.factor_id, now=now, metadata={"aaguid": checked.aaguid}
            ):
                raise NotFound()
    except IntegrityError:
        raise PasskeyVerificationFailed(
            "Passkey verification failed: this passkey is already registered in the service"
        ) from None
    return Factor.objects.select_related("service", "entity").get(pk=pending.factor_id)
