"""Message text for each channel and locale.

The built-in wording is `str.format` strings from `channels.locales`, filled from a fixed set
of values; a template text chosen by the caller (`{{code}}`, `{{friendly_name}}`, `{{ttl}}`
and the caller's own `{{name}}` variables) is filled in one pass. Either way user-supplied
text (service name, substitution values, payee, app hash) is only ever a value, never the
template: it cannot add placeholders, `%` conversions or markup. Voice TwiML and the HTML
email part escape it through the TwiML builder and Django's `format_html`.

Right-to-left languages: the code and the amount are left-to-right runs, wrapped in Unicode
isolates in text messages so the digits keep their order, and the email HTML says `dir="rtl"`.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from twilio.twiml.voice_response import VoiceResponse

from channels.base import Channel, OutboundMessage
from channels.locales import (
    TEXTS,
    Texts,
    direction,
    resolve_language,
    say_language,
    say_voice,
    texts_for,
    voice_locale,
)
from channels.status import voice_callback_url
from channels.template_text import (
    BUILTIN_VARIABLES,
    NAME_RE,
    TemplateRenderError,
    clean,
    clean_value,
    render_template,
    template_variables,
    validate_template_text,
)

__all__ = [
    "BUILTIN_VARIABLES",
    "RenderedMessage",
    "TemplateRenderError",
    "clean",
    "clean_value",
    "render",
    "render_email",
    "render_sms",
    "render_template",
    "render_text",
    "render_voice_text",
    "render_voice_twiml",
    "template_variables",
    "validate_template_text",
]

logger = logging.getLogger(__name__)

# Google's SMS Retriever: an 11-character hash of the app's package and signing key.
_APP_HASH_RE = re.compile(r"^[A-Za-z0-9+/]{11}$")
# Twilio refuses TwiML over 4000 characters; names are capped well below that when spoken.
VOICE_NAME_MAX = 100
SMS_RETRIEVER_PREFIX = "<#>"
# Unicode isolates: left-to-right (the code, an amount) and first-strong (names).
LRI, FSI, PDI = "\u2066", "\u2068", "\u2069"
# Twilio <Say> voices: Amazon Polly and Google voices, and the basic man/woman/alice.
# The Service form publishes and checks the same pattern (TtsName).
TTS_VOICE_PATTERN = (
    r"man|woman|alice"
    r"|Polly\.[A-Z][A-Za-z]{1,24}(?:-(?:Neural|Generative|LongForm))?"
    r"|Google\.[a-z]{2,3}-[A-Z]{2}-[A-Za-z0-9]{1,24}(?:-[A-Za-z0-9]{1,24}){0,3}"
)
_TTS_VOICE_RE = re.compile(f"^(?:{TTS_VOICE_PATTERN})$")
# Seconds the callee has, after the press-a-key prompt, to press one.
GATHER_TIMEOUT = 8


@dataclass(frozen=True)
class RenderedMessage:
    """What one adapter call needs. `body` is always the human-readable text (for voice, the
    words spoken), so development adapters can show every channel the same way."""

    body: str
    subject: str | None = None
    html: str | None = None
    twiml: str | None = None


def is_valid_tts_voice(value: object) -> bool:
    """A `<Say voice>` Twilio offers: `Polly.Name[-Neural]`, `Google.xx-XX-...`, or the
    basic `man`, `woman`, `alice` (the API checks TtsName with this at start)."""
    return isinstance(value, str) and bool(_TTS_VOICE_RE.fullmatch(value))


def is_valid_app_hash(value: object) -> bool:
    return isinstance(value, str) and bool(_APP_HASH_RE.fullmatch(value))


# --- what every message shares ------------------------------------------------------------


@dataclass(frozen=True)
class _Locale:
    """What a locale string decides, computed once per distinct string (the hot path)."""

    texts: Texts
    voice_texts: Texts  # English where no Twilio voice speaks the language
    language: str
    say_language: str
    say_voice: str | None
    rtl: bool


@functools.lru_cache(maxsize=512)
def _locale_of(locale: str) -> _Locale:
    return _Locale(
        texts=texts_for(locale),
        voice_texts=TEXTS[voice_locale(locale)],
        language=resolve_language(locale),
        say_language=say_language(locale),
        say_voice=say_voice(locale),
        rtl=direction(locale) == "rtl",
    )


def locale_info(locale: object) -> _Locale:
    return _locale_of(locale if isinstance(locale, str) else "")


def _ltr(text: str, rtl: bool) -> str:
    return f"{LRI}{text}{PDI}" if rtl and text else text


def _name(text: str, rtl: bool) -> str:
    return f"{FSI}{text}{PDI}" if rtl and text else text


def minutes_of(message: OutboundMessage) -> int:
    try:
        return max(1, int(message.lifetime_minutes))
    except (TypeError, ValueError):
        return 10


def _lifetime_line(texts: Texts, message: OutboundMessage) -> str:
    minutes = minutes_of(message)
    return texts.lifetime_one if minutes == 1 else texts.lifetime.format(minutes=minutes)


def psd2_line(message: OutboundMessage, texts: Texts, *, rtl: bool = False) -> str | None:
    """The transaction a PSD2 code approves (dynamic linking), when it has both parts."""
    if not (message.amount and message.payee):
        return None
    amount = _ltr(clean_value(message.amount), rtl)
    return texts.psd2.format(amount=amount, payee=_name(clean_value(message.payee), rtl))


def template_values(message: OutboundMessage, *, code: str, service: str) -> dict[str, str]:
    """Values of a template's variables: the caller's substitutions, cleaned, under the
    built-in ones (which a substitution cannot replace)."""
    values = {
        str(key): clean_value(value)
        for key, value in (message.substitutions or {}).items()
        if isinstance(key, str) and NAME_RE.fullmatch(key)
    }
    values.update(code=code, friendly_name=service, ttl=str(minutes_of(message)))
    return values


def _lines(message: OutboundMessage, info: _Locale, *, template: bool = False) -> list[str]:
    texts, rtl = info.texts, info.rtl
    code = _ltr(clean(message.code), rtl)
    service = _name(clean(message.service_name), rtl)
    if template and message.template_text:
        values = template_values(message, code=code, service=service)
        lines = [render_template(message.template_text, values)]
    else:
        lines = [texts.code.format(service=service, code=code), _lifetime_line(texts, message)]
        if message.do_not_share_warning:
            lines.append(texts.warning)
    psd2 = psd2_line(message, texts, rtl=rtl)
    if psd2:
        lines.insert(1, psd2)
    return lines


def render_text(message: OutboundMessage) -> str:
    """The text of an SMS, WhatsApp message or email body (no SMS Retriever line)."""
    return "\n".join(_lines(message, locale_info(message.locale)))


def render_sms(message: OutboundMessage) -> str:
    """SMS body: the template text when one was chosen, else the built-in wording. With a
    valid app hash it follows Android's SMS Retriever convention: the message starts with
    `<#>` and ends with the 11-character hash on its own line, which is why the hash comes
    last and an invalid one is left out rather than sent broken."""
    lines = _lines(message, locale_info(message.locale), template=True)
    if message.app_hash and is_valid_app_hash(message.app_hash):
        lines[0] = f"{SMS_RETRIEVER_PREFIX} {lines[0]}"
        lines.append(message.app_hash)
    return "\n".join(lines)


def render_email(message: OutboundMessage) -> RenderedMessage:
    info = locale_info(message.locale)
    texts = info.texts
    service = clean(message.service_name)
    subject = " ".join(texts.subject.format(service=service).split())  # no header folding
    lines = _lines(message, info)
    html = format_html(
        '<!doctype html><html lang="{}"{}><body><p>{}</p><p><strong>{}</strong></p>{}'
        "</body></html>",
        info.language,
        format_html(' dir="{}"', "rtl") if info.rtl else "",
        texts.subject.format(service=service),
        clean(message.code),
        format_html_join("", "<p>{}</p>", ((line,) for line in lines[1:])),
    )
    return RenderedMessage(body="\n".join(lines), subject=subject, html=str(html))


# --- voice ----------------------------------------------------------------------------------

_PAUSE = None  # a one-second <Pause> between spoken parts


def _spoken_digits(code: str) -> str:
    """ "1, 2, 3": commas make text-to-speech read each digit, not "one hundred twenty-three"."""
    return ", ".join(ch for ch in clean(code) if not ch.isspace())


def _spoken(message: OutboundMessage, info: _Locale) -> list[str | None]:
    """What a call says, in order (None: a pause): the template text (with the code read
    digit by digit) or the built-in introduction and digits, then the code once more."""
    texts = info.voice_texts
    service = clean(message.service_name)[:VOICE_NAME_MAX]
    digits = _spoken_digits(message.code)
    psd2 = psd2_line(message, texts)
    parts: list[str | None] = [psd2, _PAUSE] if psd2 else []
    if message.template_text:
        values = template_values(message, code=digits, service=service)
        parts.append(render_template(message.template_text, values))
    else:
        parts += [texts.voice_intro.format(service=service), _PAUSE, f"{digits}."]
    return [*parts, _PAUSE, texts.voice_repeat, _PAUSE, f"{digits}.", texts.voice_goodbye]


def _say_attributes(message: OutboundMessage, info: _Locale) -> dict[str, str]:
    """`<Say>` attributes: the locale's language, and the caller's voice when it is one
    Twilio knows (anything else is ignored, and logged, rather than failing the call)."""
    attributes = {"language": info.say_language}
    voice = message.tts_voice
    if voice and not is_valid_tts_voice(voice):
        logger.warning("text-to-speech voice %r ignored: not a Twilio <Say> voice", str(voice)[:40])
        voice = None
    voice = voice or info.say_voice
    if voice:
        attributes["voice"] = voice
    return attributes


def _press_key_line(message: OutboundMessage, info: _Locale) -> str:
    return info.voice_texts.voice_press_key.format(
        service=clean(message.service_name)[:VOICE_NAME_MAX]
    )


def render_voice_twiml(message: OutboundMessage, *, key_pressed: bool = False) -> str:
    """TwiML reading the code digit by digit, twice, in the locale's language. Built with the
    SDK's `VoiceResponse`, whose XML serialiser escapes every text.

    With `dtmf_input_required` (and no `key_pressed`) the call only asks for a key press: the
    code is not in this TwiML at all. Twilio posts the key to the signed voice callback
    (`channels.views.twilio_voice`), which answers with this TwiML for `key_pressed=True`;
    without a key press the call says goodbye and hangs up."""
    info = locale_info(message.locale)
    say = _say_attributes(message, info)
    response = VoiceResponse()
    if message.dtmf_input_required and not key_pressed:
        gather = response.gather(
            num_digits=1,
            action=voice_callback_url(message.attempt_sid, locale=info.language),
            method="POST",
            timeout=GATHER_TIMEOUT,
        )
        gather.say(_press_key_line(message, info), loop=2, **say)
        response.say(info.voice_texts.voice_goodbye, **say)
        response.hangup()
        return response.to_xml()
    for part in _spoken(message, info):
        if part is _PAUSE:
            response.pause(length=1)
        else:
            response.say(part, **say)
    return response.to_xml()


def render_goodbye_twiml(locale: object) -> str:
    """What a call says when there is no code to read (expired, approved, no key pressed)."""
    info = locale_info(locale)
    response = VoiceResponse()
    voice = {"voice": info.say_voice} if info.say_voice else {}
    response.say(info.voice_texts.voice_goodbye, language=info.say_language, **voice)
    response.hangup()
    return response.to_xml()


def render_voice_text(message: OutboundMessage) -> str:
    """The words of a call, for development adapters (with the code, even when the call
    itself waits for a key press before reading it)."""
    info = locale_info(message.locale)
    words = [part for part in _spoken(message, info) if part is not _PAUSE]
    if message.dtmf_input_required:
        words.insert(0, _press_key_line(message, info))
    return "\n".join(words)


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
