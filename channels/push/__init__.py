"""Push notification adapters, one per `Config.NotificationPlatform`: `apn` (APNs over
HTTP/2, token-based auth), `fcm` (FCM HTTP v1), `none` (nothing sent: the app polls)."""

from __future__ import annotations

from channels.push.apn import ApnAdapter
from channels.push.base import (
    ApnCredential,
    FcmCredential,
    PushAdapter,
    PushMessage,
    PushOutcome,
    PushResult,
    mask_token,
)
from channels.push.fcm import FcmAdapter
from channels.push.none import NoneAdapter

ADAPTERS: dict[str, PushAdapter] = {"apn": ApnAdapter(), "fcm": FcmAdapter(), "none": NoneAdapter()}


def adapter_for(platform: str) -> PushAdapter:
    """The adapter of a factor's platform; an unknown one sends nothing."""
    return ADAPTERS.get(platform, ADAPTERS["none"])


__all__ = [
    "ADAPTERS",
    "ApnCredential",
    "FcmCredential",
    "PushAdapter",
    "PushMessage",
    "PushOutcome",
    "PushResult",
    "adapter_for",
    "mask_token",
]
