"""Checks: counters kept in one process's memory do not limit a fleet of processes (deploy);
geo permissions name countries that exist (always: a typo would block a whole country)."""

from __future__ import annotations

import phonenumbers
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.checks import Error, Tags, Warning, register

from limits import conf, geo


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


@register(Tags.security)
def allowed_countries_exist(app_configs, **kwargs) -> list[Error]:
    unknown = sorted(geo.allowed_countries() - phonenumbers.SUPPORTED_REGIONS)
    if not unknown:
        return []
    return [
        Error(
            f"VERIFY_ALLOWED_COUNTRIES names unknown countries: {', '.join(unknown)}.",
            hint="Use ISO 3166 alpha-2 codes, e.g. US,CA,GB.",
            id="limits.E001",
        )
    ]
