"""What authenticates an API credential, kept in the cache that every web process shares.

Every /v2 request authenticates, and the account and API key rows change a few times a year.
So a successful authentication is kept in Django's cache (Redis) under its credential SID
(account or API key): the stored SHA-256 digest of the secret and the account's plain
fields. Never a secret in clear, nor the encrypted auth token.

- Every change that can affect authentication (token rotation, account status, API key
  create/revoke/delete, any save or delete of either model) calls `credentials_changed`:
  the entries go now and again after commit, in Redis, where every process looks. An
  account's change takes its API keys' entries with it.
- A read that began before a change must not store the old row after the change's delete:
  each SID has a generation, replaced by every change; an entry carries the generation
  seen before its database read and counts only while that one is current. A missing
  generation is created with `cache.add` (set-if-absent), so two callers never both win.
- Only successes are stored: a wrong secret is checked against the database again.
- Redis unreachable: requests read the database and store nothing, trying Redis again
  after `RETRY_SECONDS`. A delete that cannot reach Redis is logged; what it missed expires
  `VERIFY_AUTH_CACHE_SECONDS` after its read (0 switches the cache off).

Off without REDIS_URL (`make run`): a cache in one process's memory would not hear of a
revocation made in another process.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from redis.exceptions import RedisError

from services.models import Account, ApiKey

logger = logging.getLogger("verify_platform.auth")

# What a cached request's account carries. Its secret fields stay empty: views and queries
# use the account's SID, and whoever needs the auth token (webhook signing) reads the row.
ACCOUNT_FIELDS = (
    "sid",
    "friendly_name",
    "status",
    "allowed_special_numbers",
    "risk_check_disable_allowed",
    "date_created",
    "date_updated",
)
# A generation outlives the entries stored under it; one that expired or was evicted only
# makes the next request read the database.
GENERATION_SECONDS = 24 * 3600
RETRY_SECONDS = 1.0
# In the key: an entry of another shape is never read as this one.
_PREFIX = "auth:3"
_ERRORS = (RedisError, OSError)

_unavailable_until = 0.0


def _cache() -> BaseCache | None:
    """CACHES["default"] is Redis when REDIS_URL is set (settings.py)."""
    if not settings.REDIS_URL or settings.VERIFY_AUTH_CACHE_SECONDS <= 0:
        return None
    return caches["default"]


def _entry_key(sid: str) -> str:
    return f"{_PREFIX}:entry:{sid}"


def _generation_key(sid: str) -> str:
    return f"{_PREFIX}:generation:{sid}"


def _unavailable(exc: BaseException) -> None:
    global _unavailable_until
    _unavailable_until = time.monotonic() + RETRY_SECONDS
    logger.warning("auth cache unreachable, reading the database: %s", type(exc).__name__)


def lookup(sid: str) -> tuple[tuple[str, Account] | None, str | None]:
    """`((digest, account), generation)` when this SID has a current entry; `(None,
    generation)` on a miss, the generation a `fill` after the database read stores under
    (None: store nothing). One round trip on a hit."""
    cache = _cache()
    if cache is None or time.monotonic() < _unavailable_until:
        return None, None
    try:
        found = cache.get_many([_entry_key(sid), _generation_key(sid)])
        generation = found.get(_generation_key(sid))
        if generation is None:
            generation = uuid.uuid4().hex
            if not cache.add(_generation_key(sid), generation, GENERATION_SECONDS):
                return None, None  # another request made it: the next one uses it
    except _ERRORS as exc:
        _unavailable(exc)
        return None, None
    entry = found.get(_entry_key(sid))
    if entry is None or entry[0] != generation:
        return None, generation
    _, digest, values = entry
    return (digest, Account(**dict(zip(ACCOUNT_FIELDS, values, strict=True)))), generation


def fill(sid: str, generation: str | None, *, digest: str, account: Account) -> None:
    """Store a successful authentication read from the database after `lookup` gave
    `generation`. Only an active account's credential may be stored."""
    cache = _cache()
    if cache is None or generation is None or account.status != Account.Status.ACTIVE:
        return
    values = tuple(getattr(account, name) for name in ACCOUNT_FIELDS)
    try:
        cache.set(_entry_key(sid), (generation, digest, values), settings.VERIFY_AUTH_CACHE_SECONDS)
    except _ERRORS as exc:
        _unavailable(exc)


def credentials_changed(*sids: str, using: str = "default") -> None:
    """Call where an account or API key is written. Deletes now, and again after commit:
    a request that read the old row before the commit may have stored it meanwhile."""
    if sids and _cache() is not None:
        _forget(sids, using)
        transaction.on_commit(functools.partial(_forget, sids, using), using=using, robust=True)


def _forget(sids: tuple[str, ...], using: str) -> None:
    if (cache := _cache()) is None:
        return
    every = list(sids)
    if accounts := [sid for sid in sids if sid.startswith("AC")]:  # with their API keys
        keys = ApiKey.objects.using(using).filter(account_id__in=accounts)
        every += keys.values_list("pk", flat=True)
    generation = uuid.uuid4().hex
    try:
        cache.set_many({_generation_key(sid): generation for sid in every}, GENERATION_SECONDS)
        cache.delete_many([_entry_key(sid) for sid in every])
    except _ERRORS as exc:
        ttl = settings.VERIFY_AUTH_CACHE_SECONDS
        logger.error("auth cache entries not deleted (expire in %ss) %s: %r", ttl, every, exc)


def warm() -> bool:
    """Connect before this process serves its first request (gunicorn's `post_worker_init`),
    not during it. True when the cache is on and reachable; a failure is only logged."""
    if (cache := _cache()) is None:
        return False
    try:
        cache.get(_generation_key("-"))  # the first round trip opens the connection
    except _ERRORS as exc:
        _unavailable(exc)
        return False
    return True


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs) -> None:
    global _unavailable_until
    if setting in {"CACHES", "REDIS_URL"} or setting.startswith("VERIFY_AUTH_CACHE"):
        _unavailable_until = 0.0
