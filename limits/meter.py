"""Window counters in the cache (Redis in every real deployment).

A counter starts with the first hit and lives `seconds`; each hit is one atomic INCR, and the
expiry is set in the same server-side script, so a counter can never be left without one.
All the counters of one request go in one round trip. Any failure to reach Redis raises
`MeterUnavailable`: callers that guard sends must refuse (fail closed), never send unmetered.

Without Redis (development) the counters live in the process's LocMem cache, which is only
correct for a single process.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from limits import conf
from limits.errors import MeterUnavailable

logger = logging.getLogger("limits.meter")

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
    cache = caches[conf.cache_alias()]
    try:
        if not isinstance(cache, RedisCache):
            return _hit_local(cache, windows)
        keys = [cache.make_and_validate_key(key) for key, _ in windows]
        client = cache._cache.get_client(keys[0], write=True)
        result = client.eval(_HIT_SCRIPT, len(keys), *keys, *[s for _, s in windows])
        return [Hit(count=int(count), seconds_left=max(1, int(ttl))) for count, ttl in result]
    except (RedisError, OSError) as exc:  # refused, timed out, DNS: the count is unknown
        logger.warning("rate-limit counters unavailable: %s", type(exc).__name__)
        raise MeterUnavailable(retry_after=UNAVAILABLE_RETRY_AFTER) from exc
