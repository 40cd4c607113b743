"""Inbound provider callbacks: delivery status, and the key a callee pressed.

Thin edge: check the signature, normalise the provider's vocabulary, hand the result to the
engine's handler (`channels.status.get_delivery_status_handler`). Holds no state of its own,
so a replayed callback does exactly what the first did; deciding that a second `delivered`
or a late `sent` changes nothing is the handler's job. Twilio authenticates these requests
only by `X-Twilio-Signature` (HMAC-SHA1 of the full URL and the form, keyed with the account's
auth token), so there is no Basic auth and no CSRF token.

The voice callback (`twilio_voice`) is how a call that waits for a key press gets its code:
the code is never in the TwiML sent before the key press, nor in any URL, so once Twilio
posts the pressed key the engine's voice handler builds the message again and the answer is
the TwiML that reads it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from channels.base import Channel
from channels.registry import get_adapter
from channels.status import (
    ATTEMPT_PARAM,
    LOCALE_PARAM,
    STATUS_CALLBACK_PATH,
    VOICE_CALLBACK_PATH,
    get_delivery_status_handler,
    get_voice_code_handler,
    normalize_call_status,
    normalize_message_status,
)
from channels.templates import render_goodbye_twiml, render_voice_twiml
from verify_platform.lib import errors
from verify_platform.lib.api.exceptions import error_response

logger = logging.getLogger(__name__)

_ID_RE = re.compile(r"^[A-Za-z0-9]{2,64}$")
_ERROR_CODE_RE = re.compile(r"^[0-9]{1,10}$")


class InvalidSignature(errors.VerifyError):
    status, code, default_message = 403, 20403, "Invalid or missing X-Twilio-Signature"


def twilio_auth_tokens() -> list[str]:
    """Auth tokens of every configured Twilio adapter: channels may use different accounts,
    and a callback is genuine if any of them signed it."""
    tokens: list[str] = []
    for channel in getattr(settings, "VERIFY_CHANNELS", {}) or {}:
        try:
            adapter = get_adapter(channel)
        except ImproperlyConfigured:
            continue
        token = getattr(adapter, "auth_token", None) if adapter.name == "twilio" else None
        if token and token not in tokens:
            tokens.append(token)
    return tokens


def _candidate_urls(request: HttpRequest, path: str) -> list[str]:
    """The URL Twilio requested, as we can reconstruct it. Behind a proxy,
    `build_absolute_uri` is right only with SECURE_PROXY_SSL_HEADER / USE_X_FORWARDED_HOST
    set; the configured public base URL is the proxy-independent alternative."""
    urls = [request.build_absolute_uri()]
    base = getattr(settings, "VERIFY_STATUS_CALLBACK_BASE_URL", None)
    if base:
        query = request.META.get("QUERY_STRING", "")
        urls.append(f"{base.rstrip('/')}{path}" + (f"?{query}" if query else ""))
    return urls


def _signature_valid(
    request: HttpRequest, params: QueryDict | str, path: str = STATUS_CALLBACK_PATH
) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or len(signature) > 512:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER, ""))
    for token in twilio_auth_tokens():
        validator = RequestValidator(token)
        for url in _candidate_urls(request, path):
            if validator.validate(url, params, signature, algorithm=algorithm):
                return True
    return False


def _params(request: HttpRequest) -> QueryDict | str:
    """Form parameters, or the raw body when the URL carries `bodySHA256` (JSON webhooks)."""
    if "bodySHA256" in parse_qs(request.META.get("QUERY_STRING", "")):
        return request.body.decode("utf-8")
    return request.POST


def _optional(params: QueryDict, *names: str, pattern: re.Pattern[str]) -> str | None:
    for name in names:
        value = params.get(name)
        if value:
            return value if pattern.match(value) else None
    return None


@csrf_exempt
def twilio_status(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return error_response(errors.MethodNotAllowed())
    try:
        params = _params(request)
    except (SuspiciousOperation, MultiPartParserError, UnicodeDecodeError, ValueError):
        return error_response(errors.InvalidParameter("body", "unreadable"))
    if not _signature_valid(request, params):
        logger.warning("twilio status callback with a bad or missing signature")
        return error_response(InvalidSignature())
    if isinstance(params, str):  # a signed JSON body: not a status callback we understand
        return error_response(errors.InvalidParameter("body", "expected a form"))

    attempt_sid = request.GET.get(ATTEMPT_PARAM, "")
    if not _ID_RE.match(attempt_sid):
        return error_response(errors.InvalidParameter(ATTEMPT_PARAM))
    if params.get("CallStatus"):
        raw = params.get("CallStatus", "")
        status = normalize_call_status(raw)
        provider_id = _optional(params, "CallSid", pattern=_ID_RE)
    elif params.get("MessageStatus") or params.get("SmsStatus"):
        raw = params.get("MessageStatus") or params.get("SmsStatus", "")
        status = normalize_message_status(raw)
        provider_id = _optional(params, "MessageSid", "SmsSid", pattern=_ID_RE)
    else:
        return error_response(errors.InvalidParameter("MessageStatus"))
    if status is None:
        # A status we do not map (inbound, or new in the provider's API): acknowledged so the
        # provider does not retry, and ignored.
        logger.info("twilio status callback ignored: unknown status %r", raw[:40])
        return HttpResponse(status=204)
    error_code = _optional(params, "ErrorCode", pattern=_ERROR_CODE_RE)

    try:
        handler = get_delivery_status_handler()
    except ImproperlyConfigured:
        logger.exception("VERIFY_DELIVERY_STATUS_HANDLER cannot be loaded")
        return error_response(errors.ServiceUnavailable())
    if handler is None:
        return HttpResponse(status=204)
    try:
        handler(
            attempt_sid=attempt_sid,
            provider_message_id=provider_id,
            status=status,
            error_code=error_code,
        )
    except Exception:
        # 503, not 500: the provider may redeliver, and the handler is idempotent.
        logger.exception("delivery status handler failed for attempt %s", attempt_sid)
        return error_response(errors.ServiceUnavailable())
    return HttpResponse(status=204)


def _twiml(xml: str) -> HttpResponse:
    return HttpResponse(xml, content_type="text/xml; charset=utf-8")


@csrf_exempt
def twilio_voice(request: HttpRequest) -> HttpResponse:
    """The `<Gather action>` of a call that waits for a key press. With a key (`Digits`) and
    an attempt still pending and unexpired, the answer reads the code; anything else says
    goodbye and hangs up, so the code is spoken only after a key press on a live attempt."""
    if request.method != "POST":
        return error_response(errors.MethodNotAllowed())
    try:
        params = request.POST
    except (SuspiciousOperation, MultiPartParserError, UnicodeDecodeError, ValueError):
        return error_response(errors.InvalidParameter("body", "unreadable"))
    if not _signature_valid(request, params, VOICE_CALLBACK_PATH):
        logger.warning("twilio voice callback with a bad or missing signature")
        return error_response(InvalidSignature())
    attempt_sid = request.GET.get(ATTEMPT_PARAM, "")
    if not _ID_RE.fullmatch(attempt_sid):
        return error_response(errors.InvalidParameter(ATTEMPT_PARAM))
    goodbye = _twiml(render_goodbye_twiml(request.GET.get(LOCALE_PARAM, "")[:35]))
    if not params.get("Digits"):
        return goodbye
    try:
        handler = get_voice_code_handler()
        if handler is None:
            logger.warning("VERIFY_VOICE_CODE_HANDLER is not set: a key press reads no code")
            return goodbye
        message = handler(attempt_sid=attempt_sid)
    except Exception:
        # The callee hears a goodbye rather than Twilio's "application error"; the call's
        # status callback and the fallback plan carry on as for an unanswered call.
        logger.exception("voice code handler failed for attempt %s", attempt_sid)
        return goodbye
    if message is None or message.channel != Channel.CALL or message.attempt_sid != attempt_sid:
        return goodbye
    return _twiml(render_voice_twiml(message, key_pressed=True))
