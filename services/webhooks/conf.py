"""Webhook settings: `VERIFY_WEBHOOKS` over the defaults, merged once per settings change.

A delivery reads a dozen of these, so the merged mapping is built once and kept; a settings
change (`override_settings`, pytest-django's `settings`, which both send `setting_changed`)
drops it, so overrides apply at once. Nothing is read at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.dispatch import receiver
from django.test.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    "CONNECT_TIMEOUT": 3.05,
    "READ_TIMEOUT": 10.0,
    # The whole call (connect, send, every read): the read timeout bounds each read only.
    # The lease is kept at least twice as long.
    "TOTAL_TIMEOUT": 30.0,
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
    # Loopback and private receivers (local development): only ever an explicit setting
    # (VERIFY_WEBHOOK_ALLOW_PRIVATE_ADDRESSES), never implied by DEBUG.
    "ALLOW_PRIVATE_ADDRESSES": False,
}

_merged: Mapping[str, Any] | None = None


def values() -> Mapping[str, Any]:
    global _merged
    merged = _merged
    if merged is None:
        merged = _merged = {**DEFAULTS, **getattr(settings, "VERIFY_WEBHOOKS", {})}
    return merged


def get(name: str) -> Any:
    return values()[name]


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    global _merged
    if setting == "VERIFY_WEBHOOKS":
        _merged = None
