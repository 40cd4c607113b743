"""Tenant-scoped reads for accounts and Services."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from services import auth_cache, sql
from services.models import Account, ApiKey, Service
from verify_platform.lib import crypto, rows
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
    """The tenant's service (`services.sql.SERVICE_GET`); another tenant's is a 404."""
    with connection.cursor() as cursor:
        cursor.execute(sql.SERVICE_GET, {"account": account.pk, "sid": sid})
        row = cursor.fetchone()
    if row is None:
        raise NotFound()
    return rows.instance(Service, dict(zip(sql.SERVICE_COLUMNS, row, strict=True)))


def service_list(*, account: Account) -> QuerySet[Service]:
    return Service.objects.filter(account=account)
