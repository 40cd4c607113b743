"""SMS, WhatsApp and voice through Twilio's Programmable Messaging and Voice APIs.

Uses the official `twilio` SDK. `base_url` replaces the SDK's `https://api.twilio.com`, which
is how the tests drive the real SDK against a local fake server (and how a deployment could
use a regional edge or a proxy). Every request has a timeout and the SDK never retries on its
own: a second POST after a lost answer could send a second code, so that decision belongs to
the engine, which sees `ChannelOutcomeUnknownError` for exactly those cases.

Errors: a provider 4xx (bad number, unverified sender, blocked, wrong credentials) is
permanent, 429, 5xx, timeouts and connection failures are temporary.
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.exceptions import ImproperlyConfigured
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from channels.base import (
    BaseChannelAdapter,
    Channel,
    ChannelError,
    ChannelOutcomeUnknownError,
    ChannelPermanentError,
    ChannelTemporaryError,
    DeliveryStatus,
    OutboundMessage,
    SendResult,
)
from channels.status import normalize_call_status, normalize_message_status, voice_callback_url
from channels.templates import TemplateRenderError, render

DEFAULT_TIMEOUT = 10.0
WHATSAPP_PREFIX = "whatsapp:"

_ACCOUNT_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
_API_KEY_RE = re.compile(r"^SK[0-9a-fA-F]{32}$")
_MESSAGING_SERVICE_RE = re.compile(r"^MG[0-9a-fA-F]{32}$")
_CONTENT_SID_RE = re.compile(r"^HX[0-9a-fA-F]{32}$")
# Twilio's sendDigits: digits, # and *, and w (half a second) or W (a second) of waiting.
_SEND_DIGITS_RE = re.compile(r"^[0-9wW#*]{1,32}$")
_E164_RE = re.compile(r"^\+[1-9][0-9]{1,14}$")
_SHORT_CODE_RE = re.compile(r"^[0-9]{3,8}$")
# Alphanumeric sender IDs: up to 11 letters, digits and spaces, at least one letter.
_ALPHA_SENDER_RE = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


class AnswerKeepingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, keeping the last answer it received.

    A `TwilioRestException` carries the status, code and message of an error answer but not
    its headers, and a 429's `Retry-After` is what tells the engine when to try again. The
    SDK documents a custom HTTP client (`Client(http_client=...)`) as the way to see the raw
    exchange; this one only adds `last_answer` around the SDK's own `request`. One client per
    thread (`TwilioAdapter.client`), so the attribute is that thread's last answer."""

    last_answer: Response | None = None

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        self.last_answer = None  # a request that fails without an answer leaves none
        answer = super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        self.last_answer = answer
        return answer


class TwilioAdapter(BaseChannelAdapter):
    name = "twilio"
    option_names = frozenset(
        {
            "account_sid",
            "auth_token",
            "api_key",
            "api_secret",
            "from_number",
            "call_from",
            "whatsapp_from",
            "messaging_service_sid",
            "whatsapp_content_sid",
            "base_url",
            "timeout",
        }
    )
    channels = frozenset({Channel.SMS, Channel.WHATSAPP, Channel.CALL})
    uses_messaging_service = True
    key_press_needs_callback = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # Settings built from the environment pass "" for unset variables.
        opts = {key: value for key, value in options.items() if value not in (None, "")}

        def text(key: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
            value = opts.get(key)
            if value is None:
                return None
            if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
                raise ImproperlyConfigured(f"twilio channel adapter: {key} is not {what}")
            return value

        self.account_sid = text("account_sid", _ACCOUNT_SID_RE, "an account SID (AC...)")
        if self.account_sid is None:
            raise ImproperlyConfigured("twilio channel adapter needs account_sid")
        self.auth_token = text("auth_token", None)
        self.api_key = text("api_key", _API_KEY_RE, "an API key SID (SK...)")
        self.api_secret = text("api_secret", None)
        if bool(self.api_key) != bool(self.api_secret):
            raise ImproperlyConfigured("twilio channel adapter: api_key needs api_secret")
        if not (self.auth_token or self.api_key):
            raise ImproperlyConfigured(
                "twilio channel adapter needs auth_token (or api_key and api_secret)"
            )
        self.from_number = opts.get("from_number")
        if self.from_number is not None and not _is_sender(self.from_number):
            raise ImproperlyConfigured(
                "twilio channel adapter: from_number is not an E.164 number, short code or "
                "alphanumeric sender ID"
            )
        self.call_from = text("call_from", _E164_RE, "an E.164 number")
        whatsapp_from = text("whatsapp_from", None)
        if whatsapp_from is not None:
            whatsapp_from = whatsapp_from.removeprefix(WHATSAPP_PREFIX)
            if not _E164_RE.match(whatsapp_from):
                raise ImproperlyConfigured(
                    "twilio channel adapter: whatsapp_from is not an E.164 number"
                )
        self.whatsapp_from = whatsapp_from
        self.messaging_service_sid = text(
            "messaging_service_sid", _MESSAGING_SERVICE_RE, "a Messaging Service SID (MG...)"
        )
        # WhatsApp only lets a business start a conversation with an approved template; an
        # authentication template's single variable {{1}} is the code.
        self.whatsapp_content_sid = text(
            "whatsapp_content_sid", _CONTENT_SID_RE, "a Content template SID (HX...)"
        )
        senders = (self.from_number, self.call_from, self.whatsapp_from, self.messaging_service_sid)
        if not any(senders):
            raise ImproperlyConfigured(
                "twilio channel adapter needs a sender: from_number, call_from, "
                "whatsapp_from or messaging_service_sid"
            )
        self.base_url = text("base_url", None)
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
                raise ImproperlyConfigured(
                    "twilio channel adapter: base_url must be an http(s) URL without query"
                )
            self.base_url = self.base_url.rstrip("/")
        timeout = opts.get("timeout", DEFAULT_TIMEOUT)
        try:
            self.timeout = float(timeout)
        except (TypeError, ValueError):
            self.timeout = -1.0
        if not 0 < self.timeout <= 120:
            raise ImproperlyConfigured("twilio channel adapter: timeout must be 0 < x <= 120")
        self._local = threading.local()

    # -- configuration -------------------------------------------------------------------
    def channel_problem(self, channel: str, message: OutboundMessage | None = None) -> str | None:
        """Why this adapter cannot serve `channel` with its options (None if it can). The
        system check asks, so a missing sender shows at start-up, not on the first login."""
        if channel not in self.channels:
            return f"the twilio adapter does not send {channel!r}"
        per_message_service = message is not None and message.messaging_service_sid
        if channel == Channel.SMS and not (
            self.from_number or self.messaging_service_sid or per_message_service
        ):
            return "sms needs from_number (TWILIO_FROM_NUMBER) or messaging_service_sid"
        per_service_whatsapp = message is not None and (
            message.messaging_service_sid or message.whatsapp_from
        )
        if channel == Channel.WHATSAPP and not (
            self.whatsapp_from or self.messaging_service_sid or per_service_whatsapp
        ):
            return "whatsapp needs whatsapp_from (TWILIO_WHATSAPP_FROM) or messaging_service_sid"
        if channel == Channel.CALL and not self._call_from():
            return "call needs call_from or an E.164 from_number"
        return None

    def _sender(self, channel: str) -> str | None:
        """The configured number a text channel sends from (None: its Messaging Service)."""
        if channel == Channel.WHATSAPP:
            return self.whatsapp_from
        return self.from_number if channel == Channel.SMS else None

    def _call_from(self) -> str | None:
        if self.call_from:
            return self.call_from
        if self.from_number and _E164_RE.match(self.from_number):
            return self.from_number
        return None

    def client(self) -> Client:
        """One SDK client per thread and process: a requests session must not be shared with
        a forked Celery child (the parent's check built this adapter before forking)."""
        cached = getattr(self._local, "client", None)
        if cached is not None and cached[0] == os.getpid():
            return cached[1]
        if self.api_key:
            username, password = self.api_key, self.api_secret
        else:
            username, password = self.account_sid, self.auth_token
        client = Client(
            username,
            password,
            account_sid=self.account_sid,
            http_client=AnswerKeepingHttpClient(timeout=self.timeout),
            environment={},  # nothing from TWILIO_* variables sneaks past the options
        )
        if self.base_url:
            client.edge = client.region = None
            client.api.base_url = self.base_url
        self._local.client = (os.getpid(), client)
        return client

    # -- sending -------------------------------------------------------------------------
    def send(self, message: OutboundMessage) -> SendResult:
        problem = self.channel_problem(message.channel, message) or _message_problem(message)
        if problem:
            raise ChannelPermanentError(problem)
        try:
            rendered = render(message)
        except TemplateRenderError as exc:
            raise ChannelPermanentError(f"template: {exc}") from exc
        callback = message.status_callback_url or None
        client = self.client()
        try:
            if message.channel == Channel.CALL:
                extension = {"send_digits": message.send_digits} if message.send_digits else {}
                call = client.api.account.calls.create(
                    to=message.to,
                    from_=self._call_from(),
                    twiml=rendered.twiml,
                    status_callback=callback,
                    **extension,
                )
                raw = str(call.status or "")
                status = normalize_call_status(raw) or DeliveryStatus.QUEUED
                return SendResult(status=status, provider_message_id=call.sid, detail=_detail(raw))
            kwargs: dict[str, Any] = {
                "to": _address(message.channel, message.to),
                "status_callback": callback,
            }
            if message.channel == Channel.WHATSAPP and self.whatsapp_content_sid:
                if message.amount or message.payee:
                    raise ChannelPermanentError(
                        "a PSD2 amount and payee cannot be shown in the WhatsApp content "
                        "template (whatsapp_content_sid), which carries the code only"
                    )
                kwargs["content_sid"] = self.whatsapp_content_sid
                kwargs["content_variables"] = json.dumps({"1": message.code})
            else:
                kwargs["body"] = rendered.body
            if message.channel == Channel.WHATSAPP and (
                message.messaging_service_sid or message.whatsapp_from
            ):
                # The Service's WhatsApp sender (`Whatsapp.MsgServiceSid`, `Whatsapp.From`).
                if message.messaging_service_sid:
                    kwargs["messaging_service_sid"] = message.messaging_service_sid
                if message.whatsapp_from:
                    kwargs["from_"] = _address(message.channel, message.whatsapp_from)
            elif message.channel == Channel.SMS and message.messaging_service_sid:
                # The Messaging Service of the destination's country (MessagingConfigurations).
                kwargs["messaging_service_sid"] = message.messaging_service_sid
            elif sender := self._sender(message.channel):
                kwargs["from_"] = _address(message.channel, sender)
            else:
                kwargs["messaging_service_sid"] = self.messaging_service_sid
            sms = client.api.account.messages.create(**kwargs)
            raw = str(sms.status or "")
            status = normalize_message_status(raw) or DeliveryStatus.QUEUED
            if status in (DeliveryStatus.FAILED, DeliveryStatus.UNDELIVERED):
                raise ChannelPermanentError(
                    f"twilio answered {raw}", code=getattr(sms, "error_code", None)
                )
            return SendResult(status=status, provider_message_id=sms.sid, detail=_detail(raw))
        except TwilioRestException as exc:
            raise _map_rest_error(exc, client) from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise ChannelTemporaryError(f"twilio: connect timeout: {exc}") from exc
        except requests.exceptions.ReadTimeout as exc:
            raise ChannelOutcomeUnknownError(f"twilio: no answer in {self.timeout}s") from exc
        except requests.exceptions.ConnectionError as exc:
            if _never_connected(exc):
                raise ChannelTemporaryError(f"twilio: cannot connect: {exc}") from exc
            raise ChannelOutcomeUnknownError(f"twilio: connection lost: {exc}") from exc
        except requests.exceptions.RequestException as exc:
            raise ChannelTemporaryError(f"twilio: request failed: {exc}") from exc
        except (TwilioException, ValueError, KeyError, TypeError) as exc:
            # A 2xx the SDK could not read: the message may well be on its way.
            raise ChannelOutcomeUnknownError(f"twilio: unreadable answer: {exc}") from exc


def _message_problem(message: OutboundMessage) -> str | None:
    """What in the message itself Twilio would refuse, or could not do as asked. Validated
    when the verification starts; checked again here so a bad value fails on its own step."""
    service = message.messaging_service_sid
    texting = message.channel in (Channel.SMS, Channel.WHATSAPP)
    if texting and service and not _MESSAGING_SERVICE_RE.fullmatch(service):
        return "messaging_service_sid is not a Messaging Service SID (MG...)"
    sender = (message.whatsapp_from or "").removeprefix(WHATSAPP_PREFIX)
    if message.channel == Channel.WHATSAPP and sender and not _E164_RE.match(sender):
        return "the service's Whatsapp.From is not an E.164 number"
    if message.channel == Channel.CALL:
        if message.send_digits and not is_valid_send_digits(message.send_digits):
            return "send_digits must be 1 to 32 of 0-9, #, *, w and W"
        if message.dtmf_input_required and not _reachable(voice_callback_url(message.attempt_sid)):
            return (
                "a call waiting for a key press needs VERIFY_STATUS_CALLBACK_BASE_URL: "
                "Twilio posts the key to it"
            )
    return None


def is_valid_send_digits(value: object) -> bool:
    """Twilio's sendDigits syntax (the API checks SendDigits with this at start)."""
    return isinstance(value, str) and bool(_SEND_DIGITS_RE.fullmatch(value))


def _reachable(url: str) -> bool:
    """An absolute URL Twilio can post to (a bare path means no public base URL is set)."""
    return url.startswith(("https://", "http://"))


def _detail(raw_status: str) -> dict[str, Any]:
    return {"provider": "twilio", "provider_status": raw_status}


def _is_sender(value: object) -> bool:
    return isinstance(value, str) and bool(
        _E164_RE.match(value) or _SHORT_CODE_RE.match(value) or _ALPHA_SENDER_RE.match(value)
    )


def _address(channel: str, number: str) -> str:
    if channel == Channel.WHATSAPP and not number.startswith(WHATSAPP_PREFIX):
        return WHATSAPP_PREFIX + number
    return number


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the TCP connection was never made, so the provider cannot have the request."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError | ConnectionRefusedError)


def _retry_after(client: Client) -> float | None:
    """The `Retry-After` seconds of the answer that raised, if it gave a usable one."""
    http_client = client.http_client
    answer = http_client.last_answer if isinstance(http_client, AnswerKeepingHttpClient) else None
    headers = getattr(answer, "headers", None) or {}
    try:
        value = float(headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None
    return value if 0 <= value <= 3600 else None


def _map_rest_error(exc: TwilioRestException, client: Client) -> ChannelError:
    message = f"twilio {exc.status}: {exc.msg}"
    if exc.status == 429 or exc.status >= 500:
        return ChannelTemporaryError(message, code=exc.code, retry_after=_retry_after(client))
    return ChannelPermanentError(message, code=exc.code)
