"""Window counters in the cache (Redis in every real deployment).

A counter starts with the first hit and lives `seconds`; each hit is one atomic INCR, and the
expiry is set in the same server-side script, so a counter can never be left without one.
All the counters of one request go in one round trip. Any failure to reach Redis raises
`MeterUnavailable`: callers that guard sends must refuse (fail closed), never send unmetered.

Django's cache API has no "count and tell me when the window ends" in one atomic step, so
the script runs on a redis-py client of this module's own, for the server and options of the
cache alias (the server Django writes to), under the keys Django's cache would use.

Without Redis (development) the counters live in the process's LocMem cache, which is only
correct for a single process.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from verify_platform.lib.errors import ServiceUnavailable

logger = logging.getLogger("verify_platform.meter")


class MeterUnavailable(ServiceUnavailable):
    default_message = "Rate limits cannot be checked right now; nothing was sent, retry later"


# Seconds a client is told to wait when the counters cannot be reached.
UNAVAILABLE_RETRY_AFTER = 5

_HIT_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local ttl = redis.call('TTL', key)
  if ttl < 0 then
    ttl = tonumber(ARGV[i])
    redis.call('EXPIRE', key, ttl)
  end
  out[i] = {count, ttl}
end
return out
"""


@dataclass(frozen=True)
class Hit:
    count: int
    seconds_left: int


_local_lock = threading.Lock()

# OPTIONS of Django's Redis cache that configure Django's client, not the connection.
_DJANGO_OPTIONS = frozenset({"serializer", "pool_class", "parser_class"})
# One client per cache configuration, built on first use: a test or an operator that changes
# CACHES gets a client for the new server, and redis-py's pool reconnects after a fork.
_clients: dict[str, redis.Redis] = {}


def _redis(alias: str) -> redis.Redis:
    """A client for the server Django writes this alias to (the first of LOCATION)."""
    config = settings.CACHES[alias]
    location = config["LOCATION"]
    url = (re.split("[;,]", location) if isinstance(location, str) else location)[0]
    options = {k: v for k, v in config.get("OPTIONS", {}).items() if k not in _DJANGO_OPTIONS}
    signature = repr((url, sorted(options.items())))
    client = _clients.get(signature)
    if client is None:
        client = _clients.setdefault(signature, redis.Redis.from_url(url, **options))
    return client


def _hit_local(cache, windows: list[tuple[str, int]]) -> list[Hit]:
    hits = []
    with _local_lock:
        now = time.time()
        for key, seconds in windows:
            entry = cache.get(key)
            if entry is None or entry[1] <= now:
                entry = (0, now + seconds)
            count, ends = entry[0] + 1, entry[1]
            left = max(1, math.ceil(ends - now))
            cache.set(key, (count, ends), timeout=left)
            hits.append(Hit(count=count, seconds_left=left))
    return hits


def hit(windows: list[tuple[str, int]]) -> list[Hit]:
    """Count one event in each `(key, seconds)` window; returns the new counts in order."""
    if not windows:
        return []
    alias = getattr(settings, "VERIFY_LIMITS_CACHE", "default")
    cache = caches[alias]
    try:
        if not isinstance(cache, RedisCache):
            return _hit_local(cache, windows)
        keys = [cache.make_and_validate_key(key) for key, _ in windows]
        result = _redis(alias).eval(_HIT_SCRIPT, len(keys), *keys, *[s for _, s in windows])
        return [Hit(count=int(count), seconds_left=max(1, int(ttl))) for count, ttl in result]
    except (RedisError, OSError) as exc:  # refused, timed out, DNS: the count is unknown
        logger.warning("rate-limit counters unavailable: %s", type(exc).__name__)
        raise MeterUnavailable(retry_after=UNAVAILABLE_RETRY_AFTER) from exc
