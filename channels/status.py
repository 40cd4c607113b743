"""Delivery status: provider vocabularies mapped onto `DeliveryStatus`, the callback URL the
engine gives a provider, and the engine's handler for what providers report back.

The handler is named by the setting `VERIFY_DELIVERY_STATUS_HANDLER` (a dotted path),
resolved once, cached, and reset when a test overrides the setting. It is called as
`handler(attempt_sid=..., provider_message_id=..., status=DeliveryStatus, error_code=...)`
and must itself ignore duplicates and out-of-order reports (a `delivered` after a
`failed`, a second `sent`): providers retry and reorder callbacks.

Calls that wait for a key press before reading the code (`dtmf_input_required`) ask for
`VOICE_CALLBACK_PATH` once a key is pressed; `VERIFY_VOICE_CODE_HANDLER` (resolved the same
way) is called as `handler(attempt_sid=...)` and returns the attempt's `OutboundMessage`, or
None when its verification is no longer pending and unexpired.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from channels.base import DeliveryStatus

STATUS_CALLBACK_PATH = "/channels/twilio/status"
VOICE_CALLBACK_PATH = "/channels/twilio/voice"
ATTEMPT_PARAM = "attempt"
LOCALE_PARAM = "locale"

# Twilio Message resource statuses. `canceled` (a scheduled message withdrawn) never left, so
# it counts as failed; `partially_delivered` reached some of a multi-part message.
MESSAGE_STATUSES: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "partially_delivered": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}

# Twilio Call resource statuses. An answered call has delivered the code (it is read at
# once); busy or unanswered calls reached the network but not the person.
CALL_STATUSES: dict[str, DeliveryStatus] = {
    "queued": DeliveryStatus.QUEUED,
    "initiated": DeliveryStatus.QUEUED,
    "ringing": DeliveryStatus.SENT,
    "in-progress": DeliveryStatus.DELIVERED,
    "answered": DeliveryStatus.DELIVERED,
    "completed": DeliveryStatus.DELIVERED,
    "busy": DeliveryStatus.UNDELIVERED,
    "no-answer": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def _normalize(table: dict[str, DeliveryStatus], raw: object) -> DeliveryStatus | None:
    if not isinstance(raw, str):
        return None
    key = raw.strip().lower()
    return table.get(key) or table.get(key.replace("_", "-")) or table.get(key.replace("-", "_"))


def normalize_message_status(raw: object) -> DeliveryStatus | None:
    """A Twilio MessageStatus as a DeliveryStatus; None for values we do not know (inbound
    statuses, statuses added after this was written), which callers must ignore."""
    return _normalize(MESSAGE_STATUSES, raw)


def normalize_call_status(raw: object) -> DeliveryStatus | None:
    return _normalize(CALL_STATUSES, raw)


def status_callback_url(base_url: str, attempt_sid: str) -> str:
    """The URL to give a provider for one attempt, e.g.
    `status_callback_url("https://verify.example.com", "VL...")`. `base_url` is the public
    origin (and path prefix, if any) the provider can reach."""
    return f"{base_url.rstrip('/')}{STATUS_CALLBACK_PATH}?{urlencode({ATTEMPT_PARAM: attempt_sid})}"


def default_status_callback_url(attempt_sid: str) -> str | None:
    """`status_callback_url` on the configured `VERIFY_STATUS_CALLBACK_BASE_URL`, or None
    when there is none (development: providers cannot reach us, so ask for no callbacks)."""
    base = getattr(settings, "VERIFY_STATUS_CALLBACK_BASE_URL", None)
    return status_callback_url(base, attempt_sid) if base else None


def voice_callback_url(attempt_sid: str, *, locale: str | None = None) -> str:
    """Where Twilio posts the key a callee pressed (a `<Gather action>`): absolute on
    `VERIFY_STATUS_CALLBACK_BASE_URL`, else a path (development adapters only show it; the
    twilio adapter refuses such a call). It names the attempt, never the code; `locale` only
    picks the language of a goodbye when there is no code to read."""
    base = getattr(settings, "VERIFY_STATUS_CALLBACK_BASE_URL", None) or ""
    query = {ATTEMPT_PARAM: attempt_sid, **({LOCALE_PARAM: locale} if locale else {})}
    return f"{base.rstrip('/')}{VOICE_CALLBACK_PATH}?{urlencode(query)}"


StatusHandler = Callable[..., Any]


def _load_handler(setting: str) -> StatusHandler | None:
    path = getattr(settings, setting, None)
    if not path:
        return None
    if callable(path):
        return path
    try:
        handler = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{setting}: {exc}") from exc
    if not callable(handler):
        raise ImproperlyConfigured(f"{setting} {path!r} is not callable")
    return handler


@functools.cache
def get_delivery_status_handler() -> StatusHandler | None:
    return _load_handler("VERIFY_DELIVERY_STATUS_HANDLER")


@functools.cache
def get_voice_code_handler() -> StatusHandler | None:
    """The engine's `handler(attempt_sid=...) -> OutboundMessage | None` for key presses."""
    return _load_handler("VERIFY_VOICE_CODE_HANDLER")


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "VERIFY_DELIVERY_STATUS_HANDLER":
        get_delivery_status_handler.cache_clear()
    elif setting == "VERIFY_VOICE_CODE_HANDLER":
        get_voice_code_handler.cache_clear()
