"""The deploy check warns when counters are not shared between processes."""

from __future__ import annotations

from limits.checks import shared_counters


def test_warns_for_per_process_counters(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert [w.id for w in shared_counters(None)] == ["limits.W001"]


def test_silent_with_redis(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    assert shared_counters(None) == []
