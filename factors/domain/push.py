"""Writes of Verify Push factors: enrolment access tokens, push factor creation (by a
backend, or by an app holding an access token), verification by the device's signature of
the factor SID, and the configuration the app keeps current (notification token, SDK
version, name). The protocol is docs/push-protocol.md."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from entities.domain import entity_get_or_create
from factors import push_crypto
from factors.domain.lifecycle import factor_event_payload, factor_mark_verified
from factors.models import Factor, FactorType
from factors.push_models import NotificationPlatform, PushAccessToken, PushBinding
from services.domain import event_record
from services.models import Service
from verify_platform.lib.clock import current_time
from verify_platform.lib.errors import AuthenticationFailed, InvalidParameter, NotFound

ACCESS_TOKEN_TTL_DEFAULT = 60
ACCESS_TOKEN_TTL_RANGE = (60, 300)
NOTIFICATION_TOKEN_LENGTH = (32, 255)
# Spent and expired grants are kept this long (the fetch still shows them), then deleted by
# the expiry sweeper (`access_tokens_expire`).
ACCESS_TOKEN_KEPT = timedelta(days=1)


def _record(factor: Factor, type: str) -> None:
    event_record(
        service=factor.service,
        type=type,
        resource_sid=factor.sid,
        payload=factor_event_payload(factor),
    )


# --- access tokens --------------------------------------------------------------------------


def access_token_create(
    *,
    service: Service,
    identity: str,
    factor_type: str = FactorType.PUSH,
    factor_friendly_name: str | None = None,
    ttl: int | None = None,
    now: datetime | None = None,
) -> PushAccessToken:
    """A short-lived grant for one push factor of `identity` in `service`."""
    now = current_time(now).replace(microsecond=0)
    if factor_type != FactorType.PUSH:
        raise InvalidParameter("FactorType", "only push")
    ttl = ACCESS_TOKEN_TTL_DEFAULT if ttl is None else ttl
    low, high = ACCESS_TOKEN_TTL_RANGE
    if not low <= ttl <= high:
        raise InvalidParameter("Ttl", f"must be {low} to {high} seconds")
    token = PushAccessToken.objects.create(
        service=service,
        identity=identity,
        factor_type=FactorType.PUSH,
        factor_friendly_name=factor_friendly_name or "",
        ttl=ttl,
        date_created=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    token.service = service
    return token


def access_tokens_expire(*, now: datetime | None = None, limit: int = 500) -> int:
    """The expiry sweeper's part: grants a day past their end (spent or not) are deleted, a
    batch per run."""
    old = PushAccessToken.objects.filter(expires_at__lt=current_time(now) - ACCESS_TOKEN_KEPT)
    deleted, _ = PushAccessToken.objects.filter(pk__in=old.values("pk")[:limit]).delete()
    return deleted


def access_token_jwt(token: PushAccessToken) -> str:
    """The token's text, re-signed from its row (the same text on every read)."""
    return push_crypto.access_token_encode(
        {
            "jti": token.sid,
            "sub": token.service.account_id,
            "service_sid": token.service_id,
            "identity": token.identity,
            "factor_type": token.factor_type,
            "iat": int(token.date_created.timestamp()),
            "exp": int(token.expires_at.timestamp()),
        }
    )


# --- push factors ---------------------------------------------------------------------------


def _public_key(alg: str | None, public_key: str | None) -> str:
    if alg is None or public_key is None:
        raise InvalidParameter(
            "Binding.PublicKey" if alg else "Binding.Alg",
            "a push factor needs Binding.Alg and Binding.PublicKey",
        )
    if alg != push_crypto.ALG:
        raise InvalidParameter("Binding.Alg", "only ES256")
    try:
        return push_crypto.canonical_public_key(public_key)
    except push_crypto.PushCryptoError as exc:
        raise InvalidParameter("Binding.PublicKey", str(exc)) from None


def _check_target(platform: str, token: str) -> None:
    """apn and fcm need a token to send to; `none` (the app polls) needs none."""
    low, high = NOTIFICATION_TOKEN_LENGTH
    if platform != NotificationPlatform.NONE and not token:
        raise InvalidParameter("Config.NotificationToken", f"required for {platform}")
    if token and not low <= len(token) <= high:
        raise InvalidParameter("Config.NotificationToken", f"must be {low} to {high} characters")


def push_factor_create(
    *,
    service: Service,
    identity: str,
    friendly_name: str,
    alg: str | None,
    public_key: str | None,
    app_id: str | None = None,
    notification_platform: str | None = None,
    notification_token: str | None = None,
    sdk_version: str | None = None,
    metadata: dict | None = None,
    access_token: str | None = None,
    now: datetime | None = None,
) -> tuple[Factor, dict[str, Any]]:
    """An unverified push factor holding the device's public key. With `access_token` (the
    SID of the grant the request authenticated with), the grant is spent in the same
    transaction: a second create with it, or one after it expired, is a 401."""
    now = current_time(now)
    key = _public_key(alg, public_key)
    if not app_id:
        raise InvalidParameter("Config.AppId", "required for push")
    if not notification_platform:
        raise InvalidParameter("Config.NotificationPlatform", "required for push")
    token = notification_token or ""
    _check_target(notification_platform, token)
    with transaction.atomic():
        entity = entity_get_or_create(service=service, identity=identity)
        factor = Factor.objects.create(
            service=service,
            entity=entity,
            factor_type=FactorType.PUSH,
            friendly_name=friendly_name,
            metadata=metadata,
        )
        if access_token is not None:
            spent = PushAccessToken.objects.filter(
                pk=access_token, factor_sid="", expires_at__gt=now
            ).update(factor_sid=factor.sid)
            if spent != 1:
                raise AuthenticationFailed()  # rolls the factor back
        PushBinding.objects.create(
            factor=factor,
            alg=push_crypto.ALG,
            public_key=key,
            app_id=app_id,
            notification_platform=notification_platform,
            notification_token=token,
            sdk_version=sdk_version or "",
        )
        _record(factor, "factor.created")
    return factor, {"alg": push_crypto.ALG, "public_key": key}


def push_factor_update(
    *,
    factor: Factor,
    friendly_name: str | None = None,
    config: dict[str, Any] | None = None,
    auth_payload: str | None = None,
    now: datetime | None = None,
) -> Factor:
    """Rename, keep the notification target current, and/or verify. `auth_payload` is the
    base64 DER ECDSA signature of the factor SID by the device's key: a valid one moves an
    unverified factor to verified, an invalid one is a 400 and changes nothing."""
    now = current_time(now)
    config = {k: v for k, v in (config or {}).items() if v is not None}
    with transaction.atomic():
        binding = PushBinding.objects.select_for_update().filter(pk=factor.pk).first()
        if binding is None:  # deleted since it was read
            raise NotFound()
        if (
            auth_payload is not None
            and factor.status == Factor.Status.UNVERIFIED
            and not push_crypto.verify_factor_signature(
                binding.public_key, factor.sid, auth_payload
            )
        ):
            raise InvalidParameter(
                "AuthPayload",
                "must be the base64 DER ECDSA signature of the factor SID by the factor's key",
            )
        changed = _apply_config(binding, config)
        if changed:
            binding.save(update_fields=changed)
        if friendly_name is not None or changed:
            Factor.objects.filter(pk=factor.pk).update(
                **({"friendly_name": friendly_name} if friendly_name is not None else {}),
                date_updated=now,
            )
        if auth_payload is not None and factor.status == Factor.Status.UNVERIFIED:
            factor_mark_verified(factor_id=factor.pk, now=now)
    return Factor.objects.select_related("service", "entity", "push_binding").get(pk=factor.pk)


def _apply_config(binding: PushBinding, config: dict[str, Any]) -> list[str]:
    """The changes `config` makes to `binding` (in memory); the names of the changed fields.
    A new notification token clears the provider's verdict on the old one."""
    changed: list[str] = []
    platform = config.get("notification_platform", binding.notification_platform)
    token = config.get("notification_token", binding.notification_token)
    if "notification_platform" in config or "notification_token" in config:
        _check_target(platform, token)
    if platform != binding.notification_platform:
        binding.notification_platform = platform
        changed.append("notification_platform")
    if token != binding.notification_token:
        binding.notification_token = token
        binding.notification_token_invalid_at = None
        binding.notification_token_invalid_reason = ""
        changed += [
            "notification_token",
            "notification_token_invalid_at",
            "notification_token_invalid_reason",
        ]
    if "sdk_version" in config and config["sdk_version"] != binding.sdk_version:
        binding.sdk_version = config["sdk_version"]
        changed.append("sdk_version")
    return changed
