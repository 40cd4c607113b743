"""Tenant-scoped reads for accounts and Services."""

from __future__ import annotations

from django.db.models import QuerySet

from services import auth_cache
from services.models import Account, ApiKey, Service
from verify_platform.lib import crypto
from verify_platform.lib.errors import NotFound
from verify_platform.lib.prepared import PreparedQuery
from verify_platform.lib.sids import is_sid

# Compared against when the SID is unknown, so a miss costs the same digest and comparison
# as a hit with a wrong secret.
_DUMMY_DIGEST = "0" * 64


# Every request reads one of these: compiled once per process (verify_platform/lib/prepared.py).
_ACCOUNT = PreparedQuery(lambda sid: Account.objects.filter(pk=sid))
_API_KEY = PreparedQuery(lambda sid: ApiKey.objects.select_related("account").filter(pk=sid))
_SERVICE = PreparedQuery(
    lambda account_sid, sid: Service.objects.filter(account_id=account_sid, pk=sid)
)


def account_authenticate(*, username: str, password: str) -> Account | None:
    """The active account these credentials belong to, or None.

    A success whose row this process holds (services/auth_cache.py) reads nothing; anything
    else (unknown SID, wrong secret, cache off) is the one indexed read it always was, with
    the same constant-time comparison, so a failure costs the same whether or not the SID
    is cached."""
    digest = crypto.secret_digest(password)
    cache = auth_cache.current()
    ticket = cache.begin() if cache is not None else None
    if ticket is not None:
        entry = cache.get(username, ticket)
        if entry is not None and crypto.digests_equal(digest, entry.digest):
            return entry.account()
    if is_sid(username, "AC"):
        account = _ACCOUNT.first(username)
        stored = account.auth_token_digest if account is not None else _DUMMY_DIGEST
    elif is_sid(username, "SK"):
        key = _API_KEY.first(username)
        active = key is not None and key.status == ApiKey.Status.ACTIVE
        account = key.account if active else None
        stored = key.secret_digest if active else _DUMMY_DIGEST
    else:
        account, stored = None, _DUMMY_DIGEST
    matches = crypto.digests_equal(digest, stored)
    if account is None or account.status != Account.Status.ACTIVE:
        return None
    if ticket is not None:
        # The row as read, whether or not this secret matched it: never an absence.
        cache.store(ticket, username, digest=stored, account=account)
    return account if matches else None


def service_get(*, account: Account, sid: str) -> Service:
    service = _SERVICE.first(account.pk, sid)
    if service is None:
        raise NotFound()
    return service


def service_list(*, account: Account) -> QuerySet[Service]:
    return Service.objects.filter(account=account)
