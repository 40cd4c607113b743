"""Webhook settings, read when used (never at import) so overrides apply at once."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "CONNECT_TIMEOUT": 3.05,
    "READ_TIMEOUT": 10.0,
    "RETRY_BASE_SECONDS": 5.0,
    "RETRY_MAX_SECONDS": 3600.0,
    "RETRY_WINDOW_SECONDS": 86400.0,
    "DISABLE_AFTER_FAILURES": 10,
    "DISABLE_AFTER_SECONDS": 86400.0,
    "LEASE_SECONDS": 60.0,
    "SWEEP_GRACE_SECONDS": 30.0,
    "SWEEP_BATCH": 500,
    "RESPONSE_BODY_LIMIT": 1024,
    "USER_AGENT": "VerifyPlatform-Webhooks/1.0",
    "ALLOW_PRIVATE_ADDRESSES": False,
}


def get(name: str) -> Any:
    return {**DEFAULTS, **getattr(settings, "VERIFY_WEBHOOKS", {})}[name]
