"""Tenant-scoped reads for accounts and Services."""

from __future__ import annotations

from django.db.models import QuerySet

from services import auth_cache
from services.models import Account, ApiKey, Service
from verify_platform.lib import crypto
from verify_platform.lib.errors import NotFound
from verify_platform.lib.sids import is_sid

# Compared against when the SID is unknown, so a miss costs the same digest and comparison
# as a hit with a wrong secret.
_DUMMY_DIGEST = "0" * 64


def _stored(sid: str) -> tuple[Account | None, str]:
    """The account a credential SID authenticates as (None if it cannot) and the digest its
    secret is compared with: a dummy one when there is no such credential, so a miss costs
    the same comparison as a wrong secret."""
    if is_sid(sid, "AC"):
        account = Account.objects.filter(pk=sid).first()
        return account, account.auth_token_digest if account is not None else _DUMMY_DIGEST
    if is_sid(sid, "SK"):
        key = ApiKey.objects.select_related("account").filter(pk=sid).first()
        if key is not None and key.status == ApiKey.Status.ACTIVE:
            return key.account, key.secret_digest
    return None, _DUMMY_DIGEST


def account_authenticate(*, username: str, password: str) -> Account | None:
    """The active account these credentials belong to, or None.

    A success already in the authentication cache (services/auth_cache.py) reads nothing
    from the database. Anything else (a miss, an unknown SID, a wrong secret, the cache off
    or unreachable) is one indexed read with the same constant-time comparison, so a failure
    costs the same whether or not the SID is cached; only a success is stored."""
    digest = crypto.secret_digest(password)
    cached, generation = auth_cache.lookup(username)
    if cached is not None and crypto.digests_equal(digest, cached[0]):
        return cached[1]
    account, stored = _stored(username)
    matches = crypto.digests_equal(digest, stored)
    if account is None or account.status != Account.Status.ACTIVE or not matches:
        return None
    auth_cache.fill(username, generation, digest=stored, account=account)
    return account


def service_get(*, account: Account, sid: str) -> Service:
    service = Service.objects.filter(account_id=account.pk, pk=sid).first()
    if service is None:
        raise NotFound()
    return service


def service_list(*, account: Account) -> QuerySet[Service]:
    return Service.objects.filter(account=account)
