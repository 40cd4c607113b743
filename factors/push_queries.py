"""Reads of Verify Push: access tokens (through the tenant for the API's fetch; by SID for
the device authentication, which has no tenant yet) and push factors with their key."""

from __future__ import annotations

from factors.models import Factor, FactorType
from factors.push_models import PushAccessToken, PushBinding
from services.models import Account
from verify_platform.lib.errors import NotFound


def access_token_get(*, account: Account, service_sid: str, sid: str) -> PushAccessToken:
    """The tenant's token; another tenant's, or one of another service, is a 404."""
    token = (
        PushAccessToken.objects.select_related("service")
        .filter(service__account=account, service_id=service_sid, pk=sid)
        .first()
    )
    if token is None:
        raise NotFound()
    return token


def access_token_for_auth(*, sid: str) -> PushAccessToken | None:
    """The token a request presents, with its service and account (the authentication
    checks the account is active and the claims match the row)."""
    return PushAccessToken.objects.select_related("service__account").filter(pk=sid).first()


def push_factor_for_auth(*, sid: str) -> Factor | None:
    """The push factor a device token names (`kid`), with what the authentication and the
    views need: its key, service, account and entity."""
    return (
        Factor.objects.select_related("push_binding", "service__account", "entity")
        .filter(pk=sid, factor_type=FactorType.PUSH)
        .first()
    )


def push_binding_get(*, factor_id: str) -> PushBinding | None:
    """The device half of a push factor (None for another type, or one deleted)."""
    return PushBinding.objects.filter(pk=factor_id).first()
