"""Fixtures of the limits tests: every channel on the locmem adapter (as in the engine's
tests), a rate limit with buckets, and a Redis address nothing listens on."""

from __future__ import annotations

import json
import socket

import pytest

from tests.challenges.conftest import locmem_channels, run_due  # noqa: F401 (autouse fixture)
from tests.helpers import form


def start(client, service, to: str, rate_limits: dict | None = None, channel: str = "sms"):
    data = {"To": to, "Channel": channel}
    if rate_limits is not None:
        data["RateLimits"] = json.dumps(rate_limits)
    return form(client, f"/v2/Services/{service.sid}/Verifications", data)


def check(client, service, to: str, code: str):
    return form(client, f"/v2/Services/{service.sid}/VerificationCheck", {"To": to, "Code": code})


def mobile(index: int) -> str:
    """Sequential UK mobile numbers (all valid for phonenumbers)."""
    return f"+4479111{index:05d}"


def sent_count() -> int:
    """Messages the adapter was actually asked to send, after running what is due."""
    from channels.adapters import locmem

    run_due()
    return len(locmem.outbox)


@pytest.fixture
def dead_redis_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_down(settings, dead_redis_url):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": dead_redis_url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


@pytest.fixture
def no_budgets(settings):
    settings.VERIFY_SEND_BUDGETS = {
        "ACCOUNT_PER_MINUTE": 0,
        "ACCOUNT_PER_HOUR": 0,
        "SERVICE_PER_MINUTE": 0,
        "SERVICE_PER_HOUR": 0,
    }
