"""Deploy check: counters kept in one process's memory do not limit a fleet of processes."""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.checks import Tags, Warning, register

from limits import conf


@register(Tags.security, deploy=True)
def shared_counters(app_configs, **kwargs) -> list[Warning]:
    if isinstance(caches[conf.cache_alias()], RedisCache):
        return []
    return [
        Warning(
            "Rate limits and send budgets are counted per process (no REDIS_URL): each web "
            "process allows the full budget.",
            hint="Set REDIS_URL so every process shares the counters.",
            id="limits.W001",
        )
    ]
