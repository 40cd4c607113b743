"""The contract between the OTP engine and every channel adapter.

The engine hands an adapter an `OutboundMessage` and gets a `SendResult` back or one of two
errors: `ChannelTemporaryError` (retry the same channel later) or `ChannelPermanentError`
(move to the next fallback step now). Adapters know nothing of verifications, factors or
tenants beyond what the message carries, so this package imports no domain app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured


class Channel(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    CALL = "call"
    EMAIL = "email"


class DeliveryStatus(StrEnum):
    """One closed set shared by all adapters and provider callbacks."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"


@dataclass(frozen=True)
class OutboundMessage:
    """What to send. Carries the code, so its repr hides it: messages end up in logs."""

    channel: str
    to: str
    code: str = field(repr=False)
    service_name: str
    attempt_sid: str  # idempotency key, and how a provider callback finds the attempt
    locale: str = "en"
    lifetime_minutes: int = 10
    do_not_share_warning: bool = False
    app_hash: str | None = None
    status_callback_url: str | None = None
    # The text of an approved template translation chosen for this message (TemplateSid or
    # the Service's DefaultTemplateSid), already matched to the locale: `{{code}}`,
    # `{{friendly_name}}`, `{{ttl}}` and the caller's own `{{name}}` variables, whose values
    # are `substitutions` (TemplateCustomSubstitutions). None: the built-in wording.
    template_text: str | None = None
    substitutions: Mapping[str, str] = field(default_factory=dict)
    # PSD2 dynamic linking: the transaction the code approves, shown in the message.
    amount: str | None = None
    payee: str | None = None
    # Voice: DTMF digits sent once the call is answered (an extension), whether the callee
    # must press a key before the code is read, and the text-to-speech voice to read it in.
    send_digits: str | None = None
    dtmf_input_required: bool = False
    tts_voice: str | None = None
    # Through Twilio: for SMS, the Messaging Service for the destination's country
    # (MessagingConfigurations); for WhatsApp, the Service's `Whatsapp.MsgServiceSid` with its
    # sender `whatsapp_from` (`Whatsapp.From`). Both override the adapter's configured sender.
    messaging_service_sid: str | None = None
    whatsapp_from: str | None = None
    # The caller's per-channel options (ChannelConfiguration), validated at start: for email
    # `from`, `from_name`, `template_id`, `substitutions`.
    channel_configuration: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    status: DeliveryStatus
    provider_message_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class ChannelError(Exception):
    """Base of adapter failures. `code` is the provider's error code, when it gave one."""

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code


class ChannelTemporaryError(ChannelError):
    """The provider may accept the same message later: network error, timeout, 5xx, 429.

    `retry_after` (seconds) is the provider's own hint (a 429's Retry-After), when it gave
    one; the engine's backoff should not retry sooner."""

    def __init__(
        self, message: str, *, code: str | int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ChannelPermanentError(ChannelError):
    """Retrying the same channel will not help: bad number, blocked, provider 4xx."""


class BaseChannelAdapter:
    """Adapters validate their options in `__init__` (raising `ImproperlyConfigured`), so a
    wrong setting fails at start-up (system check), not on the first login."""

    name: ClassVar[str] = "base"
    option_names: ClassVar[frozenset[str]] = frozenset()
    # Whether SMS leaves through a provider's Messaging Service, chosen per destination
    # country (`OutboundMessage.messaging_service_sid`): the engine looks one up only then.
    uses_messaging_service: ClassVar[bool] = False
    # Whether a call that waits for a key press needs the provider to call back
    # (`VERIFY_STATUS_CALLBACK_BASE_URL`): a start that asks one without it is refused.
    key_press_needs_callback: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - self.option_names
        if unknown:
            raise ImproperlyConfigured(
                f"{type(self).__name__} got unknown options: {', '.join(sorted(unknown))}"
            )
        self.options = options

    def send(self, message: OutboundMessage) -> SendResult:
        raise NotImplementedError


class ChannelOutcomeUnknownError(ChannelTemporaryError):
    """The request may have reached the provider (read timeout, connection dropped after the
    request was sent, unreadable success answer). Retrying may deliver the code twice, so the
    engine should prefer waiting for a status callback, and must record that a message may
    already be on its way."""
