"""Message text: every locale, every channel, and user text that stays literal."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.locales import TEXTS, resolve_language, say_language
from channels.templates import (
    SMS_RETRIEVER_PREFIX,
    render,
    render_email,
    render_sms,
    render_voice_twiml,
)
from tests.channels.helpers import message

REQUIRED = ["en", "es", "fr", "de", "pt", "it"]
APP_HASH = "FA+9qCX9VSu"
INJECTIONS = [
    "{code}",
    "{service}",
    "{0}",
    "{{7*7}}",
    "{% debug %}",
    "%s%n%d",
    "<script>alert(1)</script>",
    "' OR 1=1--",
    "${jndi:ldap://x}",
    "a & b <c>",
]


def says(twiml: str) -> list[ET.Element]:
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    return root.findall("Say")


@pytest.mark.parametrize("locale", REQUIRED)
def test_required_locales_have_their_own_text(locale):
    assert locale in TEXTS
    assert resolve_language(locale) == locale
    if locale != "en":
        english = render_sms(message(locale="en"))
        assert render_sms(message(locale=locale)) != english


@pytest.mark.parametrize("locale", sorted(TEXTS))
@pytest.mark.parametrize("channel", ["sms", "whatsapp", "email"])
def test_text_has_name_code_lifetime_and_optional_warning(locale, channel):
    texts = TEXTS[locale]
    plain = render(message(channel=channel, locale=locale, lifetime_minutes=15)).body
    assert "Acme Login" in plain
    assert "123456" in plain
    assert texts.lifetime.format(minutes=15) in plain
    assert texts.warning not in plain

    warned = render(
        message(channel=channel, locale=locale, do_not_share_warning=True, lifetime_minutes=1)
    ).body
    assert texts.warning in warned
    assert texts.lifetime_one in warned


@pytest.mark.parametrize("locale", sorted(TEXTS))
def test_voice_reads_digits_twice_in_the_locale_language(locale):
    twiml = render_voice_twiml(message(channel="call", locale=locale, code="908172"))
    elements = says(twiml)
    digits = [e for e in elements if e.text == "9, 0, 8, 1, 7, 2."]
    assert len(digits) == 2
    assert {e.get("language") for e in elements} == {TEXTS[locale].say_language}
    assert "908172" not in twiml  # never as one number: it would be read as a quantity
    assert "Acme Login" in elements[0].text
    assert ET.fromstring(twiml).findall("Pause")


@pytest.mark.parametrize(
    ("locale", "language", "say"),
    [
        ("pt-BR", "pt-BR", "pt-BR"),
        ("pt-PT", "pt", "pt-PT"),
        ("pt_pt", "pt", "pt-PT"),
        ("es-MX", "es", "es-MX"),
        ("es-AR", "es", "es-ES"),
        ("fr-CA", "fr", "fr-CA"),
        ("en-GB", "en-GB", "en-GB"),
        ("DE", "de", "de-DE"),
        ("zh-HK", "zh-HK", "yue-HK"),
        ("xx", "en", "en-US"),
        ("", "en", "en-US"),
        ("en-", "en", "en-US"),
        ("../../etc", "en", "en-US"),
        ("it-IT-x-private", "it", "it-IT"),
    ],
)
def test_locale_falls_back_to_language_then_english(locale, language, say):
    assert resolve_language(locale) == language
    assert say_language(locale) == say
    body = render_sms(message(locale=locale))
    assert TEXTS[language].code.format(service="Acme Login", code="123456") in body


@pytest.mark.parametrize("name", INJECTIONS)
@pytest.mark.parametrize("channel", ["sms", "whatsapp", "email"])
def test_service_name_is_literal_text(name, channel):
    body = render(message(channel=channel, service_name=name, code="555123")).body
    assert TEXTS["en"].code.format(service=name, code="555123") in body
    assert "49" not in body  # {{7*7}} was not evaluated
    assert body.count("555123") == 1


@pytest.mark.parametrize("name", INJECTIONS)
def test_service_name_is_escaped_in_twiml_and_html(name):
    twiml = render_voice_twiml(message(channel="call", service_name=name))
    assert "<script>" not in twiml
    assert name in says(twiml)[0].text  # the parser gets back exactly the literal

    email = render_email(message(channel="email", service_name=name))
    assert "<script>" not in email.html
    assert email.subject == f"Your {name} verification code"


def test_sms_retriever_line():
    body = render_sms(message(app_hash=APP_HASH, do_not_share_warning=True))
    lines = body.split("\n")
    assert lines[0].startswith(f"{SMS_RETRIEVER_PREFIX} Your Acme Login verification code")
    assert lines[-1] == APP_HASH  # the hash ends the message, after the warning


@pytest.mark.parametrize("bad", ["short", "FA+9qCX9VSu\nX", "FA+9qCX9VS!", "FA+9qCX9VSuu"])
def test_invalid_app_hash_is_left_out(bad):
    body = render_sms(message(app_hash=bad))
    assert SMS_RETRIEVER_PREFIX not in body
    assert bad not in body


@pytest.mark.parametrize("channel", ["whatsapp", "email", "call"])
def test_app_hash_is_for_sms_only(channel):
    rendered = render(message(channel=channel, app_hash=APP_HASH))
    assert APP_HASH not in rendered.body
    assert SMS_RETRIEVER_PREFIX not in rendered.body


def test_email_has_subject_text_and_html():
    email = render_email(message(channel="email", locale="it", do_not_share_warning=True))
    assert email.subject == "Il tuo codice di verifica Acme Login"
    assert "123456" in email.body
    assert "<strong>123456</strong>" in email.html
    assert TEXTS["it"].warning in email.html
    assert 'lang="it"' in email.html


def test_control_characters_cannot_break_twiml_or_subject():
    name = "Acme\x00\x0b\ud800\nCorp"
    twiml = render_voice_twiml(message(channel="call", service_name=name))
    assert "AcmeCorp" in says(twiml)[0].text.replace("\n", "")
    assert "\n" not in render_email(message(channel="email", service_name=name)).subject
    render_sms(message(service_name=name)).encode("utf-8")  # encodable


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(max_size=200),
    locale=st.one_of(st.text(max_size=20), st.sampled_from(["pt-BR", "es_MX", "fr", "EN-gb"])),
    code=st.text(alphabet="0123456789", min_size=4, max_size=10),
    minutes=st.integers(min_value=-5, max_value=10_000),
    warning=st.booleans(),
    app_hash=st.one_of(st.none(), st.text(max_size=15), st.just(APP_HASH)),
    channel=st.sampled_from(["sms", "whatsapp", "call", "email"]),
)
def test_rendering_never_crashes(name, locale, code, minutes, warning, app_hash, channel):
    rendered = render(
        message(
            channel=channel,
            service_name=name,
            locale=locale,
            code=code,
            lifetime_minutes=minutes,
            do_not_share_warning=warning,
            app_hash=app_hash,
        )
    )
    rendered.body.encode("utf-8")
    if channel == "call":
        digits = ", ".join(code) + "."
        assert [e.text for e in says(rendered.twiml)].count(digits) == 2
        assert len(rendered.twiml) < 4000  # Twilio's TwiML size limit
    else:
        assert code in rendered.body
    if channel == "email":
        ET.fromstring(rendered.html.removeprefix("<!doctype html>"))  # well-formed
        assert "\n" not in rendered.subject
