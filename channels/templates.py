"""Message text for each channel and locale.

Templates are `str.format` strings from `channels.locales`, filled from a fixed set of values;
user-supplied text (service or friendly name, app hash) is only ever a value, never the
template, so it cannot inject placeholders, `%` conversions or markup. Voice TwiML and the
HTML email part escape it through the TwiML builder and Django's `format_html`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from twilio.twiml.voice_response import VoiceResponse

from channels.base import Channel, OutboundMessage
from channels.locales import resolve_language, say_language, texts_for

# Characters XML 1.0 cannot carry, and lone surrogates, which no encoder accepts. A name
# holding them would make TwiML unparsable or an SMS body unencodable, so they are dropped.
_UNSAFE_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Google's SMS Retriever: an 11-character hash of the app's package and signing key.
_APP_HASH_RE = re.compile(r"^[A-Za-z0-9+/]{11}$")
# Twilio refuses TwiML over 4000 characters; names are capped well below that when spoken.
VOICE_NAME_MAX = 100
SMS_RETRIEVER_PREFIX = "<#>"


@dataclass(frozen=True)
class RenderedMessage:
    """What one adapter call needs. `body` is always the human-readable text (for voice, the
    words spoken), so development adapters can show every channel the same way."""

    body: str
    subject: str | None = None
    html: str | None = None
    twiml: str | None = None


def clean(text: object) -> str:
    return _UNSAFE_CHARS.sub("", text if isinstance(text, str) else str(text or ""))


def is_valid_app_hash(value: object) -> bool:
    return isinstance(value, str) and bool(_APP_HASH_RE.match(value))


def _minutes(message: OutboundMessage) -> int:
    try:
        return max(1, int(message.lifetime_minutes))
    except (TypeError, ValueError):
        return 10


def _lifetime_line(message: OutboundMessage) -> str:
    texts = texts_for(message.locale)
    minutes = _minutes(message)
    return texts.lifetime_one if minutes == 1 else texts.lifetime.format(minutes=minutes)


def _lines(message: OutboundMessage) -> list[str]:
    texts = texts_for(message.locale)
    lines = [
        texts.code.format(service=clean(message.service_name), code=clean(message.code)),
        _lifetime_line(message),
    ]
    if message.do_not_share_warning:
        lines.append(texts.warning)
    return lines


def render_text(message: OutboundMessage) -> str:
    """The text of an SMS, WhatsApp message or email body (no SMS Retriever line)."""
    return "\n".join(_lines(message))


def render_sms(message: OutboundMessage) -> str:
    """SMS body. With a valid app hash it follows Android's SMS Retriever convention: the
    message starts with `<#>` and ends with the 11-character hash on its own line, which is
    why the hash comes last and an invalid one is left out rather than sent broken."""
    lines = _lines(message)
    if message.app_hash and is_valid_app_hash(message.app_hash):
        lines[0] = f"{SMS_RETRIEVER_PREFIX} {lines[0]}"
        lines.append(message.app_hash)
    return "\n".join(lines)


def render_email(message: OutboundMessage) -> RenderedMessage:
    texts = texts_for(message.locale)
    service = clean(message.service_name)
    subject = " ".join(texts.subject.format(service=service).split())  # no header folding
    lines = _lines(message)
    html = format_html(
        '<!doctype html><html lang="{}"><body><p>{}</p><p><strong>{}</strong></p>{}</body></html>',
        resolve_language(message.locale),
        texts.subject.format(service=service),
        clean(message.code),
        format_html_join("", "<p>{}</p>", ((line,) for line in lines[1:])),
    )
    return RenderedMessage(body="\n".join(lines), subject=subject, html=str(html))


def _spoken_digits(code: str) -> str:
    """ "1, 2, 3": commas make text-to-speech read each digit, not "one hundred twenty-three"."""
    return ", ".join(ch for ch in clean(code) if not ch.isspace()) + "."


def _voice_parts(message: OutboundMessage) -> tuple[str, str, str, str]:
    texts = texts_for(message.locale)
    service = clean(message.service_name)[:VOICE_NAME_MAX]
    return (
        texts.voice_intro.format(service=service),
        _spoken_digits(message.code),
        texts.voice_repeat,
        texts.voice_goodbye,
    )


def render_voice_twiml(message: OutboundMessage) -> str:
    """TwiML reading the code digit by digit, twice, in the locale's language. Built with the
    SDK's `VoiceResponse`, whose XML serialiser escapes the service name."""
    intro, digits, repeat, goodbye = _voice_parts(message)
    language = say_language(message.locale)
    response = VoiceResponse()
    response.say(intro, language=language)
    response.pause(length=1)
    response.say(digits, language=language)
    response.pause(length=1)
    response.say(repeat, language=language)
    response.pause(length=1)
    response.say(digits, language=language)
    response.say(goodbye, language=language)
    return response.to_xml()


def render_voice_text(message: OutboundMessage) -> str:
    intro, digits, repeat, goodbye = _voice_parts(message)
    return "\n".join([intro, digits, repeat, digits, goodbye])


def render(message: OutboundMessage) -> RenderedMessage:
    """Everything an adapter may need for `message.channel`."""
    channel = message.channel
    if channel == Channel.CALL:
        return RenderedMessage(body=render_voice_text(message), twiml=render_voice_twiml(message))
    if channel == Channel.EMAIL:
        return render_email(message)
    if channel == Channel.SMS:
        return RenderedMessage(body=render_sms(message))
    return RenderedMessage(body=render_text(message))
