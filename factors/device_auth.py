"""How a phone app authenticates, as Twilio's Verify Push SDKs do (docs/push-protocol.md).

Both kinds of device credential travel as HTTP Basic with the user name `token`:

- `token:<access token>`: the enrolment grant a tenant's backend created
  (`POST .../AccessTokens`). It creates one push factor for its own service and identity,
  once, before it expires, and does nothing else.
- `token:<device JWT>`: signed ES256 by the factor's private key, `kid` = the factor SID
  (`config.credential_sid`). It reads and answers only its own factor and that factor's
  challenges.

Any other user name is an account SID or API key and goes to `TwilioBasicAuthentication`
unchanged, so the backends' calls work as before. Only the views a device calls use this
class; every other endpoint refuses a device credential with the ordinary 401.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

from rest_framework.request import Request

from factors import push_crypto, push_queries
from services.auth_throttle import auth_failure_record
from services.authentication import TwilioBasicAuthentication
from services.models import Account
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import AuthenticationFailed, NotFound
from verify_platform.lib.sids import is_sid

DEVICE_USER = "token"
_DEVICE_PREFIX = base64.b64encode(f"{DEVICE_USER}:".encode()).decode()


@dataclass(frozen=True)
class AccessTokenGrant:
    """What an access token allows: creating one push factor for this service and identity."""

    sid: str
    service_sid: str
    identity: str


@dataclass(frozen=True)
class DeviceGrant:
    """What a device JWT allows: its own factor and that factor's challenges."""

    factor_sid: str
    service_sid: str
    identity: str


Grant = AccessTokenGrant | DeviceGrant


class PushDeviceAuthentication(TwilioBasicAuthentication):
    """Account credentials as before; `token:` credentials checked as the SDKs send them."""

    def authenticate(self, request: Request) -> tuple[Account, object] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, encoded = header.partition(" ")
        encoded = encoded.strip()
        # A backend's credential (the TOTP hot path) is told apart without decoding it:
        # `token:` is six bytes, so its base64 is exactly the eight characters below.
        if scheme.lower() == "basic" and encoded.startswith(_DEVICE_PREFIX):
            try:
                decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            username, sep, password = decoded.partition(":")
            if sep and username == DEVICE_USER:
                found = _device_credential(password)
                if found is None:
                    auth_failure_record(request)
                    raise AuthenticationFailed()
                request.account = found[0]
                return found
        return super().authenticate(request)


def _device_credential(token: str) -> tuple[Account, Grant] | None:
    kid = str(push_crypto.unverified_header(token).get("kid", ""))
    if is_sid(kid, "YK"):
        return _access_token(token)
    if is_sid(kid, "YF"):
        return _device_token(token, kid)
    return None


def _access_token(token: str) -> tuple[Account, Grant] | None:
    try:
        claims = push_crypto.access_token_claims(token)
    except push_crypto.PushCryptoError:
        return None
    row = push_queries.access_token_for_auth(sid=str(claims["jti"]))
    if row is None:
        return None
    account = row.service.account
    if (
        account.status != Account.Status.ACTIVE
        or claims["sub"] != account.sid
        or claims.get("service_sid") != row.service_id
        or claims.get("identity") != row.identity
        or row.expires_at <= current_time()
    ):
        return None
    return account, AccessTokenGrant(sid=row.sid, service_sid=row.service_id, identity=row.identity)


def _device_token(token: str, factor_sid: str) -> tuple[Account, Grant] | None:
    factor = push_queries.push_factor_for_auth(sid=factor_sid)
    if factor is None:
        return None
    account = factor.service.account
    if account.status != Account.Status.ACTIVE:
        return None
    try:
        claims = push_crypto.device_token_claims(
            token, factor.push_binding.public_key, now=int(time.time())
        )
    except push_crypto.PushCryptoError:
        return None
    if claims["sub"] != account.sid:
        return None
    return account, DeviceGrant(
        factor_sid=factor.sid, service_sid=factor.service_id, identity=factor.entity.identity
    )


def grant_of(request: Request) -> Grant | None:
    """The device grant of this request; None when an account credential authenticated it."""
    auth = request.auth
    return auth if isinstance(auth, AccessTokenGrant | DeviceGrant) else None


def require_account(request: Request) -> None:
    """Backend-only operations: a device credential is not a credential for them."""
    if grant_of(request) is not None:
        raise AuthenticationFailed()


def enrolment_scope(request: Request, service_sid: str, identity: str) -> AccessTokenGrant | None:
    """Factor create: an account, or an access token for exactly this service and identity."""
    grant = grant_of(request)
    if grant is None:
        return None
    if (
        not isinstance(grant, AccessTokenGrant)
        or grant.service_sid != service_sid
        or grant.identity != identity
    ):
        raise AuthenticationFailed()
    return grant


def device_scope(
    request: Request, service_sid: str, identity: str, factor_sid: str | None = None
) -> DeviceGrant | None:
    """Reads and answers of a device: only under its own service and identity (else 401,
    the credential is not one for that path), and only its own factor (another factor of
    the same entity is a 404, as a SID that does not exist)."""
    grant = grant_of(request)
    if grant is None:
        return None
    if (
        not isinstance(grant, DeviceGrant)
        or grant.service_sid != service_sid
        or grant.identity != identity
    ):
        raise AuthenticationFailed()
    if factor_sid is not None and factor_sid != grant.factor_sid:
        raise NotFound()
    return grant
