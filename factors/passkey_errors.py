"""Passkeys errors, with Twilio's codes where Twilio documents one.

| Code  | HTTP | When |
|-------|------|------|
| 60393 | 400  | A passkey factor is created but `authenticator_attachment`, `discoverable_credentials` or `user_verification` is set neither in the request's `config` nor on the Service (the message lists the missing ones). |
| 60371 | 400  | The relying party (`id`, `name`, `origins`) is set neither in the request's `config.relying_party` nor on the Service. |
| 60394 | 400  | A passkeys challenge is requested but the Service has no passkeys configuration (relying party id and origins). |
| 60324 | 403  | The WebAuthn check of a registration or an assertion failed (origin, RP ID, challenge, user presence or verification, signature, algorithm), or the passkey is not one this challenge allows. |
| 60324 | 403  | The assertion's signature counter did not move forward: a possible cloned authenticator. The passkey is marked (`clone_detected_at`) and refused from then on. |
| 60323 | 403  | The registration (VerifyFactor) came after its options expired: create the factor again. |
"""

from __future__ import annotations

from verify_platform.lib.errors import VerifyError


class PasskeyCriteriaMissing(VerifyError):
    """Twilio's words: the options cannot be built without the authenticator criteria."""

    status, code = 400, 60393
    default_message = "Authenticator criteria are missing from the request"


class PasskeyRelyingPartyMissing(VerifyError):
    status, code = 400, 60371
    default_message = "Relying party invalid or not provided"


class PasskeyServiceNotConfigured(VerifyError):
    """A challenge's options name the Service's relying party; without one there is none."""

    status, code = 400, 60394
    default_message = "Service passkeys configuration is missing"


class PasskeyVerificationFailed(VerifyError):
    """Twilio's "Challenge verification failed": the proof itself was refused. Only the
    failing check is named, never key material."""

    status, code = 403, 60324
    default_message = "Passkey verification failed"


class PasskeyCloneDetected(PasskeyVerificationFailed):
    default_message = (
        "Passkey verification failed: the signature counter did not increase, a possible "
        "cloned authenticator; this passkey is refused until it is registered again"
    )


class PasskeyRegistrationExpired(VerifyError):
    status, code = 403, 60323
    default_message = "The passkey registration options have expired; create the factor again"
