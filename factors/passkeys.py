"""WebAuthn for passkeys factors, without writes: which relying party and authenticator
criteria apply (the request's `config` over the Service's `Passkeys.*` settings), the
options a browser hands to `navigator.credentials.create()`/`.get()`, and every
cryptographic check, done by the `webauthn` library (py_webauthn). Failures become
Twilio-shaped errors (`factors.passkey_errors`); nothing here reads or writes a row."""

from __future__ import annotations

import binascii
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.authentication.verify_authentication_response import VerifiedAuthentication
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, generate_challenge
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.options_to_json_dict import options_to_json_dict
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from factors.passkey_errors import (
    PasskeyCriteriaMissing,
    PasskeyRelyingPartyMissing,
    PasskeyServiceNotConfigured,
    PasskeyVerificationFailed,
)
from services.models import Service
from verify_platform.lib.errors import InvalidParameter

logger = logging.getLogger("verify_platform.factors")

ATTACHMENTS = ("platform", "cross-platform", "any")
PREFERENCES = ("required", "preferred", "discouraged")
# ES256, EdDSA and RS256, in the order a browser should prefer them.
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
# A registrable domain name (no scheme, port or path), and a web origin or an Android app's.
RP_ID_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*"
ORIGIN_PATTERN = (
    r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?"
    r"|android:apk-key-hash:[A-Za-z0-9_-]{16,128}"
)
# Base64url as browsers write it (`PublicKeyCredential.toJSON()`), padding tolerated.
BASE64URL_PATTERN = r"[A-Za-z0-9_-]*={0,2}"
_RP_ID = re.compile(RP_ID_PATTERN)
_ORIGIN = re.compile(ORIGIN_PATTERN)
_MESSAGE_LIMIT = 200


@dataclass(frozen=True)
class PasskeySettings:
    """What one registration is made for; stored with the factor as its `config`."""

    rp_id: str
    rp_name: str
    origins: tuple[str, ...]
    authenticator_attachment: str
    discoverable_credentials: str
    user_verification: str

    def as_config(self) -> dict[str, Any]:
        return {
            "relying_party": {
                "id": self.rp_id,
                "name": self.rp_name,
                "origins": list(self.origins),
            },
            "authenticator_attachment": self.authenticator_attachment,
            "discoverable_credentials": self.discoverable_credentials,
            "user_verification": self.user_verification,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PasskeySettings:
        party = config["relying_party"]
        return cls(
            rp_id=party["id"],
            rp_name=party["name"],
            origins=tuple(party["origins"]),
            authenticator_attachment=config["authenticator_attachment"],
            discoverable_credentials=config["discoverable_credentials"],
            user_verification=config["user_verification"],
        )


def service_origins(service: Service) -> list[str]:
    """`Passkeys.RelyingParty.Origins`: stored as Twilio takes it, comma-separated."""
    return [
        o.strip() for o in (service.passkeys_relying_party_origins or "").split(",") if o.strip()
    ]


def _checked_relying_party(rp_id: str | None, origins: list[str]) -> None:
    if not rp_id or not origins:
        missing = [name for name, value in (("id", rp_id), ("origins", origins)) if not value]
        raise PasskeyRelyingPartyMissing(
            "Relying party invalid or not provided: set `config.relying_party` or the "
            f"Service's Passkeys.RelyingParty (missing: {', '.join(missing)})"
        )
    if not _RP_ID.fullmatch(rp_id) or len(rp_id) > 253:
        raise PasskeyRelyingPartyMissing(
            "Relying party invalid: its id is a domain name, without scheme or port"
        )
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise PasskeyRelyingPartyMissing(
                f"Relying party invalid: {origin[:64]!r} is not an origin (https://host[:port])"
            )


def registration_settings(service: Service, config: dict[str, Any] | None) -> PasskeySettings:
    """Each setting from the request's `config` when it has it, else from the Service; the
    authenticator criteria are checked first (60393, naming what is missing), then the
    relying party (60371)."""
    config = config or {}
    party = config.get("relying_party") or {}
    criteria = {
        name: config.get(name) or getattr(service, f"passkeys_{name}")
        for name in ("authenticator_attachment", "discoverable_credentials", "user_verification")
    }
    missing = [name for name, value in criteria.items() if not value]
    if missing:
        raise PasskeyCriteriaMissing(
            f"Authenticator criteria are missing from the request: {', '.join(missing)}"
        )
    rp_id = party.get("id") or service.passkeys_relying_party_id
    origins = list(party.get("origins") or service_origins(service))
    _checked_relying_party(rp_id, origins)
    rp_name = party.get("name") or service.passkeys_relying_party_name or service.friendly_name
    return PasskeySettings(rp_id=rp_id, rp_name=rp_name, origins=tuple(origins), **criteria)


def challenge_settings(service: Service) -> tuple[str, list[str], str]:
    """The Service's relying party id and origins, and its user verification (default
    `preferred`): what a challenge's options and its assertion check use (60394 without)."""
    rp_id, origins = service.passkeys_relying_party_id, service_origins(service)
    if not rp_id or not origins:
        raise PasskeyServiceNotConfigured()
    try:
        _checked_relying_party(rp_id, origins)
    except PasskeyRelyingPartyMissing as exc:
        raise PasskeyServiceNotConfigured(
            f"Service passkeys configuration is invalid: {exc}"
        ) from None
    return rp_id, origins, service.passkeys_user_verification or "preferred"


def _descriptor(credential_id: str, transports: list[str]) -> PublicKeyCredentialDescriptor:
    known = {t.value for t in AuthenticatorTransport}
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(credential_id),
        transports=[AuthenticatorTransport(t) for t in transports if t in known] or None,
    )


def creation_options(
    settings: PasskeySettings,
    *,
    challenge: bytes,
    user_handle: bytes,
    user_name: str,
    timeout_ms: int,
    exclude: list[tuple[str, list[str]]],
) -> dict[str, Any]:
    """`{"publicKey": PublicKeyCredentialCreationOptions}` as JSON (base64url binaries)."""
    attachment = settings.authenticator_attachment
    selection = AuthenticatorSelectionCriteria(
        authenticator_attachment=None
        if attachment == "any"
        else AuthenticatorAttachment(attachment),
        resident_key=ResidentKeyRequirement(settings.discoverable_credentials),
        user_verification=UserVerificationRequirement(settings.user_verification),
    )
    options = generate_registration_options(
        rp_id=settings.rp_id,
        rp_name=settings.rp_name,
        user_id=user_handle,
        user_name=user_name,
        challenge=challenge,
        timeout=timeout_ms,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=selection,
        exclude_credentials=[_descriptor(cid, transports) for cid, transports in exclude],
        supported_pub_key_algs=ALGORITHMS,
    )
    public_key = options_to_json_dict(options)
    public_key["authenticatorSelection"].setdefault("requireResidentKey", False)
    return {"publicKey": public_key}


def request_options(
    *,
    rp_id: str,
    challenge: bytes,
    timeout_ms: int,
    allow: list[tuple[str, list[str]]],
    user_verification: str,
) -> dict[str, Any]:
    """`{"publicKey": PublicKeyCredentialRequestOptions}`; `allowCredentials` is empty for a
    usernameless sign-in (the browser offers the discoverable passkeys of the RP)."""
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=timeout_ms,
        allow_credentials=[_descriptor(cid, transports) for cid, transports in allow],
        user_verification=UserVerificationRequirement(user_verification),
    )
    public_key = options_to_json_dict(options)
    public_key.setdefault("allowCredentials", [])
    return {"publicKey": public_key}


def new_challenge() -> bytes:
    return generate_challenge()


def b64url(value: bytes) -> str:
    return bytes_to_base64url(value)


def client_data_challenge(credential: dict[str, Any]) -> bytes:
    """The WebAuthn challenge a credential answers, read from its `clientDataJSON`: how a
    VerifyFactor or ApproveChallenge request names its factor or challenge."""
    try:
        raw = base64url_to_bytes(credential["response"]["clientDataJSON"])
        client_data = json.loads(raw)
        return base64url_to_bytes(client_data["challenge"])
    except (KeyError, TypeError, ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise InvalidParameter(
            "response.clientDataJSON", "must be the base64url clientDataJSON of the credential"
        ) from None


def _library_form(credential: dict[str, Any]) -> dict[str, Any]:
    """The credential as `PublicKeyCredential.toJSON()` writes it. The SDK's request objects
    send every key, unset ones as null: a missing `type` is `public-key` and a missing
    `rawId` is `id`."""
    return {
        **credential,
        "type": credential.get("type") or "public-key",
        "rawId": credential.get("rawId") or credential.get("id"),
    }


def _refused(exc: Exception, what: str) -> PasskeyVerificationFailed:
    logger.info("passkey %s refused: %s", what, exc)
    detail = str(exc) if isinstance(exc, WebAuthnException) else f"malformed {what}"
    return PasskeyVerificationFailed(f"Passkey verification failed: {detail[:_MESSAGE_LIMIT]}")


def check_registration(
    credential: dict[str, Any], *, challenge: bytes, settings: PasskeySettings
) -> VerifiedRegistration:
    """Attestation, origin, RP ID, challenge, user presence (and verification when the
    registration required it), and an ES256/EdDSA/RS256 key."""
    try:
        return verify_registration_response(
            credential=_library_form(credential),
            expected_challenge=challenge,
            expected_rp_id=settings.rp_id,
            expected_origin=list(settings.origins),
            require_user_verification=settings.user_verification == "required",
            supported_pub_key_algs=ALGORITHMS,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, IndexError) as exc:
        raise _refused(exc, "registration") from None


def check_assertion(
    credential: dict[str, Any],
    *,
    challenge: bytes,
    rp_id: str,
    origins: list[str],
    public_key: bytes,
    require_user_verification: bool,
) -> VerifiedAuthentication:
    """Origin, RP ID, challenge, user presence (and verification when required) and the
    signature. The signature counter is the caller's to compare, under its row lock: the
    library is given 0, so a counter that went backwards is told apart (a valid signature
    from a cloned key) from a forgery."""
    try:
        return verify_authentication_response(
            credential=_library_form(credential),
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origins,
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=require_user_verification,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, IndexError) as exc:
        raise _refused(exc, "assertion") from None


def counter_went_back(new: int, stored: int) -> bool:
    """WebAuthn 6.1.1: a counter that does not increase (when either is non-zero) signals a
    cloned authenticator; authenticators without a counter always report 0."""
    return (new > 0 or stored > 0) and new <= stored


def user_handle_of(credential: dict[str, Any]) -> bytes | None:
    value = (credential.get("response") or {}).get("userHandle")
    if not value:
        return None
    try:
        return base64url_to_bytes(value)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidParameter("response.userHandle", "must be base64url") from None
