"""The cryptography of Verify Push, as Twilio's mobile SDKs speak it (docs/push-protocol.md).

- A push factor's `Binding.PublicKey` is the base64 DER SubjectPublicKeyInfo of a P-256 key
  (the SDKs send `getPublic().encoded` on Android, the X9.62 point behind a fixed SPKI
  header on iOS). Only that curve and `ES256` are accepted.
- The factor's verification (`AuthPayload` on factor update) is the base64 DER ECDSA-SHA256
  signature of the factor SID's UTF-8 bytes.
- Every later device call authenticates with a JWT the device signs (ES256, header
  `cty: twilio-pba;v=1`, `kid` = the factor's `config.credential_sid`; claims `sub` = the
  account SID, `nbf` = now, `exp` = now + 10 minutes).
- A challenge answer is a JWT (ES256, no `kid`) whose claims copy the challenge's fields
  listed in `Twilio-Verify-Signature-Fields` plus `status` (`approved` or `denied`).
- The enrolment access token is our own: a JWT signed HS256 with a key derived from the
  platform's pepper, never from a tenant's secret.

Nothing here reads the database; the callers look keys up and decide what a failure means.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from verify_platform.lib import crypto

ALG = "ES256"
DEVICE_CONTENT_TYPE = "twilio-pba;v=1"
# The SDKs sign their request tokens for 10 minutes; a minute of leeway for clock skew (they
# resynchronise from the `Date` header of a 401 and retry once).
DEVICE_TOKEN_LIFETIME = 600
LEEWAY = 60
ACCESS_TOKEN_ALG = "HS256"
ACCESS_TOKEN_CONTENT_TYPE = "twilio-fpa;v=1"


class PushCryptoError(ValueError):
    """A key, signature or token that does not check out; the message says why."""


def load_public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    """A `Binding.PublicKey`: base64 (standard alphabet, padding optional) DER
    SubjectPublicKeyInfo of a P-256 key; anything else raises `PushCryptoError`."""
    text = encoded.strip()
    try:
        der = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        key = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError, TypeError):
        raise PushCryptoError("must be a base64 DER SubjectPublicKeyInfo") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise PushCryptoError("must be a P-256 (secp256r1) EC public key")
    return key


def canonical_public_key(encoded: str) -> str:
    """The stored form: standard base64 of the DER SubjectPublicKeyInfo, re-encoded."""
    der = load_public_key(encoded).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def verify_factor_signature(public_key: str, factor_sid: str, payload: str) -> bool:
    """The factor verification: `payload` is base64 of the DER ECDSA-SHA256 signature of the
    factor SID. False for a wrong or malformed signature."""
    try:
        signature = base64.b64decode(payload.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        load_public_key(public_key).verify(
            signature, factor_sid.encode(), ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def unverified_header(token: str) -> dict[str, Any]:
    """A JWT's header before its signature is checked (to find the key); `{}` when the text
    is not a JWT."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return {}
    return header if isinstance(header, dict) else {}


def device_token_claims(token: str, public_key: str, *, now: int) -> dict[str, Any]:
    """The claims of a device's request token once its ES256 signature, `nbf` and `exp`
    check out, and its lifetime is no longer than the SDKs give it."""
    header = unverified_header(token)
    if header.get("alg") != ALG:
        raise PushCryptoError("the device token must be signed ES256")
    if header.get("cty") != DEVICE_CONTENT_TYPE:
        raise PushCryptoError(f"the device token's cty must be {DEVICE_CONTENT_TYPE}")
    try:
        claims = jwt.decode(
            token,
            load_public_key(public_key),
            algorithms=[ALG],
            options={"require": ["sub", "exp", "nbf"], "verify_iat": False},
            leeway=LEEWAY,
        )
    except jwt.PyJWTError as exc:
        raise PushCryptoError(f"device token refused: {exc}") from None
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int) or not isinstance(nbf, int):
        raise PushCryptoError("exp and nbf must be integers")
    if exp - now > DEVICE_TOKEN_LIFETIME + LEEWAY or exp - nbf > DEVICE_TOKEN_LIFETIME + LEEWAY:
        raise PushCryptoError("the device token lives too long")
    return claims


def challenge_answer_claims(token: str, public_key: str) -> dict[str, Any]:
    """The claims of a challenge answer once its ES256 signature checks out with the
    factor's key. The SDKs put no time claims in it: the challenge's own expiry and its
    single answer bound it."""
    header = unverified_header(token)
    if header.get("alg") != ALG:
        raise PushCryptoError("the answer must be a JWT signed ES256")
    try:
        return jwt.decode(
            token,
            load_public_key(public_key),
            algorithms=[ALG],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise PushCryptoError("the signature does not verify with the factor's key") from None


def _access_token_key() -> bytes:
    """Derived from the platform's pepper (`VERIFY_CODE_PEPPER`) for this one use, so the
    token key is neither a tenant's secret nor a key that encrypts anything."""
    return bytes.fromhex(crypto.keyed_hash("verify push access token", salt="jwt-hs256"))


def access_token_encode(claims: dict[str, Any]) -> str:
    """Deterministic for the same claims: the fetch re-signs what the create signed."""
    return jwt.encode(
        claims,
        _access_token_key(),
        algorithm=ACCESS_TOKEN_ALG,
        headers={"cty": ACCESS_TOKEN_CONTENT_TYPE, "kid": claims["jti"]},
    )


def access_token_claims(token: str) -> dict[str, Any]:
    """The claims of one of our access tokens, once signature and `exp` check out."""
    try:
        return jwt.decode(
            token,
            _access_token_key(),
            algorithms=[ACCESS_TOKEN_ALG],
            options={"require": ["jti", "sub", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise PushCryptoError(f"access token refused: {exc}") from None
