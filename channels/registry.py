"""Which adapter serves which channel, shaped like Django's STORAGES.

`VERIFY_CHANNELS = {"sms": {"BACKEND": "dotted.path", "OPTIONS": {...}}, ...}`; the
environment variable VERIFY_CHANNEL_ADAPTER (`console`, `locmem`, `filebased`, `twilio` or a
dotted path) sets one backend for every channel. Adapters are built once, cached, and rebuilt
when a test overrides the setting.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from channels.base import BaseChannelAdapter

ALIASES = {
    "console": "channels.adapters.console.ConsoleAdapter",
    "locmem": "channels.adapters.locmem.LocmemAdapter",
    "filebased": "channels.adapters.filebased.FileBasedAdapter",
    "email": "channels.adapters.email.EmailAdapter",
    "twilio": "channels.adapters.twilio.TwilioAdapter",
}


def resolve_backend(name: str) -> str:
    return ALIASES.get(name, name)


@functools.cache
def get_adapter(channel: str) -> BaseChannelAdapter:
    config = settings.VERIFY_CHANNELS.get(channel)
    if config is None:
        raise ImproperlyConfigured(f"no adapter configured for channel {channel!r}")
    try:
        cls = import_string(resolve_backend(config["BACKEND"]))
    except ImportError as exc:
        raise ImproperlyConfigured(f"channel {channel!r}: {exc}") from exc
    return cls(**config.get("OPTIONS", {}))


def configured_channels() -> list[str]:
    return list(settings.VERIFY_CHANNELS)


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs) -> None:
    # Adapters read these at construction (filebased folder, email sender).
    if setting in ("VERIFY_CHANNELS", "VERIFY_FILEBASED_DIR", "DEFAULT_FROM_EMAIL"):
        get_adapter.cache_clear()
