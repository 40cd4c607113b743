"""Every supported locale: complete, well-formed texts that render on every channel."""

from __future__ import annotations

import html
import string
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import fields

import pytest

from channels.base import OutboundMessage
from channels.locales import LOCALES, TEXTS, resolve_language, say_language
from channels.templates import render

# Twilio Verify's own locale list for its default messages, which every deployment must cover.
TWILIO_LOCALES = {
    *("af", "ar", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "en-GB", "es", "et", "fi"),
    *("fr", "he", "hi", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "mr", "ms", "nb"),
    *("nl", "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "ta", "te", "th", "tl", "tr"),
    *("uk", "ur", "vi", "zh", "zh-CN", "zh-HK"),
}
TEXT_FIELDS = [f.name for f in fields(TEXTS["en"]) if f.name != "say_language"]
# Zero-width (non-)joiners are part of Persian and Indic spelling; bidi controls are not
# data: the renderer adds isolates where it needs them.
JOINERS = {"\u200c", "\u200d"}
BIDI_CONTROLS = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
SERVICE = "Acme Login"
CODE = "908172"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def outbound(locale: str, channel: str, *, warning: bool) -> OutboundMessage:
    return OutboundMessage(
        channel=channel,
        to="+14155550100",
        code=CODE,
        service_name=SERVICE,
        attempt_sid="VL" + "0" * 32,
        locale=locale,
        do_not_share_warning=warning,
    )


def test_every_twilio_locale_is_supported_and_listed_sorted():
    assert set(LOCALES) >= TWILIO_LOCALES
    assert list(LOCALES) == sorted(TEXTS)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", TEXT_FIELDS)
def test_entry_is_printable_and_uses_the_english_placeholders(locale, name):
    template = getattr(TEXTS[locale], name)
    english = getattr(TEXTS["en"], name)
    assert template.strip() == template and template
    assert all(ch.isprintable() or ch in JOINERS for ch in template), repr(template)
    assert not any(unicodedata.bidirectional(ch) in BIDI_CONTROLS for ch in template)
    assert placeholders(template) == placeholders(english)
    values = dict.fromkeys(placeholders(english), "X")
    assert "{" not in template.format(**values)


@pytest.mark.parametrize("locale", sorted(set(LOCALES) - {"en"}))
def test_locale_is_translated(locale):
    texts = TEXTS[locale]
    assert texts != TEXTS["en"]
    if not locale.startswith("en"):
        assert texts.code != TEXTS["en"].code
        assert texts.warning != TEXTS["en"].warning


@pytest.mark.parametrize(
    ("locale", "unit"),
    [
        *[(loc, " min.") for loc in ("cs", "sk", "pl", "lv", "lt", "hr", "sl", "ro")],
        ("ru", " мин."),
        ("uk", " хв."),
    ],
)
def test_many_plural_languages_abbreviate_the_unit_after_the_count(locale, unit):
    """An abbreviated unit reads right after any count; a written-out noun would be wrong for
    some (ru: 2 минуты, 5 минут, 21 минута)."""
    assert TEXTS[locale].lifetime.endswith("{minutes}" + unit)


def test_arabic_names_the_unit_before_the_count():
    assert TEXTS["ar"].lifetime.endswith(": {minutes}")


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("channel", ["sms", "whatsapp", "email"])
def test_text_channels_carry_code_service_and_the_locale_warning(locale, channel):
    warning = TEXTS[locale].warning
    plain = render(outbound(locale, channel, warning=False))
    warned = render(outbound(locale, channel, warning=True))
    for rendered in (plain, warned):
        assert CODE in rendered.body
        assert SERVICE in rendered.body
    assert warning not in plain.body
    assert warning in warned.body
    if channel == "email":
        assert SERVICE in warned.subject
        assert CODE in warned.html
        assert warning in html.unescape(warned.html)  # escaped as HTML text, not dropped
        assert f'lang="{resolve_language(locale)}"' in warned.html


@pytest.mark.parametrize("locale", LOCALES)
def test_call_reads_service_and_digits_in_the_locale_voice(locale):
    rendered = render(outbound(locale, "call", warning=True))
    says = ET.fromstring(rendered.twiml).findall("Say")
    assert SERVICE in rendered.body
    assert SERVICE in says[0].text
    assert [s.text for s in says].count("9, 0, 8, 1, 7, 2.") == 2
    assert {s.get("language") for s in says} == {say_language(locale)}
