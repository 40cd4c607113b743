"""Limits read from settings at call time, so tests and operators can change them without a
restart of anything but the process that reads them."""

from __future__ import annotations

from django.conf import settings

# NIST SP 800-63B 5.2.2 [r4 3.2.2]: no more than 100 consecutive failures; lower is allowed.
NIST_MAX_CONSECUTIVE_FAILURES = 100

_DESTINATION_DEFAULTS = {
    "FREE_FAILURES": 10,
    "BASE_DELAY_SECONDS": 30,
    "MAX_DELAY_SECONDS": 3600,
    "BLOCK_AFTER_FAILURES": NIST_MAX_CONSECUTIVE_FAILURES,
}
_RATE_LIMIT_DEFAULTS = {"MAX_PER_SERVICE": 10, "MAX_BUCKETS_PER_RATE_LIMIT": 5}
_BUDGET_DEFAULTS = {
    "ACCOUNT_PER_MINUTE": 300,
    "ACCOUNT_PER_HOUR": 5000,
    "SERVICE_PER_MINUTE": 120,
    "SERVICE_PER_HOUR": 2000,
    # Starts that name one `DeviceIp`, per account: one device asking codes for many numbers
    # is what a pumping bot looks like (counted only when the start names a DeviceIp).
    "DEVICE_IP_PER_MINUTE": 10,
    "DEVICE_IP_PER_HOUR": 60,
}


def destination() -> dict[str, int]:
    values = {**_DESTINATION_DEFAULTS, **getattr(settings, "VERIFY_DESTINATION_THROTTLE", {})}
    # A configuration above the NIST ceiling is not honoured.
    values["BLOCK_AFTER_FAILURES"] = min(
        max(1, int(values["BLOCK_AFTER_FAILURES"])), NIST_MAX_CONSECUTIVE_FAILURES
    )
    return values


def rate_limits() -> dict[str, int]:
    return {**_RATE_LIMIT_DEFAULTS, **getattr(settings, "VERIFY_RATE_LIMITS", {})}


def send_budgets() -> dict[str, int]:
    """Sends per window; 0 switches a budget off."""
    return {**_BUDGET_DEFAULTS, **getattr(settings, "VERIFY_SEND_BUDGETS", {})}


def cache_alias() -> str:
    return getattr(settings, "VERIFY_LIMITS_CACHE", "default")
