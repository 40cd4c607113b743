"""The two JWTs a Verify Push device signs, as Twilio's SDKs build them (ES256, the JOSE
r||s signature, base64url without padding, which PyJWT produces).

* Authentication (Android `AuthenticationProvider`, iOS `AuthenticationProvider`): every call
  after factor creation sends `Authorization: Basic base64("token:" + jwt)`; the header carries
  `cty: twilio-pba;v=1` and `kid`: the factor's `config.credential_sid`; the claims are
  `sub` (the account SID), `nbf` (now) and `exp` (now + 10 minutes), from the device clock
  corrected by the server's `Date` header.
* A challenge answer (`PushChallengeProcessor.generateSignature`): a JWT with no extra header
  whose claims are the challenge fields named by the `Twilio-Verify-Signature-Fields` header,
  copied from the fetched challenge as they are (strings, objects, null), plus `status`
  (`approved` or `denied`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from .keys import DeviceKey

CONTENT_TYPE = "twilio-pba;v=1"
VALID_FOR_SECONDS = 10 * 60
AUTH_USER = "token"


def auth_token(key: DeviceKey, *, credential_sid: str, account_sid: str, now: int) -> str:
    """The per-request authentication JWT (valid ten minutes, as the SDKs make it)."""
    claims = {"sub": account_sid, "exp": now + VALID_FOR_SECONDS, "nbf": now}
    headers = {"cty": CONTENT_TYPE, "kid": credential_sid}
    return jwt.encode(claims, key.private_key, algorithm="ES256", headers=headers)


def answer_token(
    key: DeviceKey, *, fields: Iterable[str], challenge: Mapping[str, Any], status: str
) -> str:
    """The `AuthPayload` that approves or denies a challenge.

    A field missing from the challenge is an error (the SDKs refuse to sign then), so the
    device never signs something other than what the server asked for.
    """
    if status not in ("approved", "denied"):
        raise ValueError("a challenge is answered approved or denied")
    claims: dict[str, Any] = {}
    for field in fields:
        if field not in challenge:
            raise ValueError(f"the challenge has no field {field!r} to sign")
        claims[field] = challenge[field]
    claims["status"] = status
    return jwt.encode(claims, key.private_key, algorithm="ES256")
