"""Template texts (syntax, validation, one-pass filling), PSD2 lines and voice options in the
rendered message of every channel."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.locales import TEXTS
from channels.templates import (
    SMS_RETRIEVER_PREFIX,
    TemplateRenderError,
    render,
    render_sms,
    render_voice_twiml,
    template_variables,
    validate_template_text,
)
from tests.channels.helpers import message

APP_HASH = "FA+9qCX9VSu"
TEMPLATE = "{{friendly_name}}: {{code}} is your code for {{product}}, valid {{ttl}} min."


def says(twiml: str) -> list[str]:
    return [element.text or "" for element in ET.fromstring(twiml).iter("Say")]


# --- syntax -------------------------------------------------------------------------------


def test_template_variables_lists_well_formed_names():
    assert template_variables(TEMPLATE) == {"friendly_name", "code", "product", "ttl"}
    assert template_variables("{{code}} {{ bad }} {{9x}} {{_ok1}}") == {"code", "_ok1"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Your code is ready", "does not contain {{code}}"),
        ("{{code}} {{first name}}", "invalid variable names"),
        ("{{code}} {{9lives}}", "invalid variable names"),
        ("{{code}} {{" + "a" * 33 + "}}", "invalid variable names"),
        ("{{code\n}}", "invalid variable names"),
        ("{{code}} {product}", "unbalanced braces"),
        ("{{code}} {{product}", "unbalanced braces"),
        ("{{{code}}}", "unbalanced braces"),
        ("{{code}}\x00", "control characters"),
        ("{{code}}\u202e", "control characters"),
        ("{{code}} " + "x" * 600, "longer than 600 characters"),
        ("", "non-empty"),
        ("   ", "non-empty"),
        (None, "non-empty"),
    ],
)
def test_validate_template_text_names_each_problem(text, problem):
    problems = validate_template_text(text)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    "text", [TEMPLATE, "{{code}}", "Code:\n{{code}}\r\n{{ttl}} minutes", "{{code}} " + "x" * 591]
)
def test_validate_template_text_accepts_good_texts(text):
    assert validate_template_text(text) == []


# --- SMS ----------------------------------------------------------------------------------


def test_sms_is_the_template_text_filled_in():
    body = render_sms(
        message(template_text=TEMPLATE, substitutions={"product": "Acme Pay"}, lifetime_minutes=5)
    )
    assert body == "Acme Login: 123456 is your code for Acme Pay, valid 5 min."


@pytest.mark.parametrize(
    "value", ["{{code}}", "{{friendly_name}}", "{code}", "{{ttl}}{{product}}", "%s {0}"]
)
def test_values_are_filled_in_one_pass(value):
    body = render_sms(message(template_text=TEMPLATE, substitutions={"product": value}))
    assert f"for {value}," in body
    assert body.count("123456") == 1


def test_values_are_cleaned_and_bounded():
    value = "Acme\r\nSTOP\x00\x1b[31m\u202e" + "y" * 100
    body = render_sms(message(template_text=TEMPLATE, substitutions={"product": value}))
    assert "\r" not in body and "\n" not in body and "\x1b" not in body
    assert "\u202e" not in body
    filled = body.split("for ", 1)[1].split(",", 1)[0]
    assert filled.startswith("AcmeSTOP[31m")
    assert len(filled) == 64


def test_builtin_variables_cannot_be_overridden():
    body = render_sms(
        message(template_text=TEMPLATE, substitutions={"product": "x", "code": "000000"})
    )
    assert "123456" in body and "000000" not in body


def test_unknown_variable_is_refused():
    with pytest.raises(TemplateRenderError, match="product"):
        render_sms(message(template_text=TEMPLATE))


@pytest.mark.parametrize("text", ["no code here", "{{code}} {{bad name}}"])
def test_broken_template_is_refused(text):
    with pytest.raises(TemplateRenderError):
        render_sms(message(template_text=text))


def test_app_hash_with_a_line_break_is_left_out():
    assert APP_HASH not in render_sms(message(app_hash=APP_HASH + "\n"))


def test_app_hash_wraps_a_template_as_sms_retriever_expects():
    body = render_sms(
        message(template_text="{{code}} is your code", app_hash=APP_HASH, amount="€5", payee="S")
    )
    lines = body.split("\n")
    assert lines[0] == f"{SMS_RETRIEVER_PREFIX} 123456 is your code"
    assert lines[1] == "Amount: €5. Payee: S."
    assert lines[-1] == APP_HASH


@pytest.mark.parametrize("channel", ["whatsapp", "email"])
def test_other_channels_ignore_the_template(channel):
    rendered = render(message(channel=channel, template_text="Custom {{code}}"))
    assert "Custom" not in rendered.body
    assert "Your Acme Login verification code is: 123456" in rendered.body


# --- PSD2 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "de", "fr"])
@pytest.mark.parametrize("channel", ["sms", "whatsapp", "email", "call"])
def test_psd2_line_in_every_channel(channel, locale):
    rendered = render(
        message(channel=channel, locale=locale, amount="€12.50", payee="Acme Shop GmbH")
    )
    line = TEXTS[locale].psd2.format(amount="€12.50", payee="Acme Shop GmbH")
    assert line in rendered.body
    if channel == "email":
        assert line in rendered.html
    if channel == "call":
        assert line in says(rendered.twiml)


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "email", "call"])
def test_psd2_needs_both_parts(channel):
    for parts in ({"amount": "€1"}, {"payee": "Shop"}, {}):
        body = render(message(channel=channel, **parts)).body
        assert "Amount:" not in body and "Payee:" not in body


def test_psd2_values_are_cleaned_and_escaped():
    payee = "<b>Shop</b>\r\nEvil & Co\u202e"
    email = render(message(channel="email", amount="5 EUR", payee=payee))
    assert "<b>" not in email.html and "&lt;b&gt;Shop" in email.html
    sms = render_sms(message(amount="5\nEUR", payee=payee))
    assert "Payee: <b>Shop</b>Evil & Co." in sms and "5EUR" in sms
    assert "\u202e" not in sms
    twiml = render_voice_twiml(message(channel="call", amount="5 EUR", payee=payee))
    assert "<b>" not in twiml and "Payee: <b>Shop</b>Evil & Co." in says(twiml)[0]


# --- voice --------------------------------------------------------------------------------


def test_voice_template_reads_the_code_digit_by_digit():
    twiml = render_voice_twiml(
        message(channel="call", template_text="Hello from {{friendly_name}}. Code {{code}}.")
    )
    spoken = says(twiml)
    assert spoken[0] == "Hello from Acme Login. Code 1, 2, 3, 4, 5, 6."
    assert "1, 2, 3, 4, 5, 6." in spoken[1:]  # and once more
    assert "123456" not in twiml


@pytest.mark.parametrize(
    "voice", ["Polly.Joanna", "Polly.Joanna-Neural", "Google.en-US-Neural2-A", "alice", "man"]
)
def test_tts_voice_sets_say_voice(voice):
    root = ET.fromstring(render_voice_twiml(message(channel="call", tts_voice=voice)))
    assert {e.get("voice") for e in root.iter("Say")} == {voice}
    assert {e.get("language") for e in root.iter("Say")} == {"en-US"}


@pytest.mark.parametrize(
    "voice",
    ["Polly", "polly.joanna", "Polly.Jo anna", 'alice" x="1', "Google.en", "robot", "alice\n"],
)
def test_unknown_tts_voice_is_ignored_and_logged(voice, caplog):
    with caplog.at_level(logging.WARNING, logger="channels.templates"):
        root = ET.fromstring(render_voice_twiml(message(channel="call", tts_voice=voice)))
    assert {e.get("voice") for e in root.iter("Say")} == {None}
    assert "ignored" in caplog.text


def test_dtmf_call_asks_for_a_key_and_never_holds_the_code(settings):
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = "https://verify.example.com/"
    msg = message(channel="call", dtmf_input_required=True, code="908172", locale="fr")
    rendered = render(msg)
    root = ET.fromstring(rendered.twiml)
    assert "9, 0, 8" not in rendered.twiml and "908172" not in rendered.twiml
    (gather,) = root.findall("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("method") == "POST"
    assert gather.get("action") == (
        f"https://verify.example.com/channels/twilio/voice?attempt={msg.attempt_sid}&locale=fr"
    )
    assert [e.text for e in gather.iter("Say")] == [
        TEXTS["fr"].voice_press_key.format(service="Acme Login")
    ]
    # No key within the timeout: Twilio falls through to the goodbye and hangs up.
    assert [child.tag for child in root] == ["Gather", "Say", "Hangup"]
    assert root.find("Say").text == TEXTS["fr"].voice_goodbye
    # Development adapters still show the code.
    assert "9, 0, 8, 1, 7, 2." in rendered.body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.text(max_size=100),
    channel=st.sampled_from(["sms", "call"]),
    amount=st.one_of(st.none(), st.text(max_size=40)),
)
def test_template_rendering_never_crashes(value, channel, amount):
    rendered = render(
        message(
            channel=channel,
            template_text=TEMPLATE,
            substitutions={"product": value},
            amount=amount,
            payee="Shop",
        )
    )
    rendered.body.encode("utf-8")
    if channel == "call":
        assert len(rendered.twiml) < 4000
        ET.fromstring(rendered.twiml)
    else:
        assert "123456" in rendered.body


# --- right-to-left ------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["ar", "he"])
@pytest.mark.parametrize("channel", ["sms", "whatsapp", "email"])
def test_rtl_text_isolates_the_code_and_the_amount(locale, channel):
    rendered = render(message(channel=channel, locale=locale, amount="€12.50", payee="Acme Shop"))
    assert "\u2066123456\u2069" in rendered.body
    assert "\u2066€12.50\u2069" in rendered.body
    assert "\u2068Acme Login\u2069" in rendered.body
    assert "\u2068Acme Shop\u2069" in rendered.body
    if channel == "email":
        assert f'<html lang="{locale}" dir="rtl">' in rendered.html


@pytest.mark.parametrize("locale", ["ar", "he"])
def test_rtl_template_isolates_the_code(locale):
    body = render_sms(
        message(locale=locale, template_text="{{code}} رمز {{friendly_name}}", app_hash=APP_HASH)
    )
    assert body.startswith(f"{SMS_RETRIEVER_PREFIX} \u2066123456\u2069 رمز \u2068Acme Login\u2069")
    assert body.endswith(f"\n{APP_HASH}")


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "email", "call"])
def test_ltr_text_has_no_isolates(channel):
    rendered = render(message(channel=channel, locale="de", amount="€1", payee="Shop"))
    text = rendered.body + (rendered.html or "") + (rendered.twiml or "")
    assert not {"\u2066", "\u2068", "\u2069"} & set(text)
    if channel == "email":
        assert "dir=" not in rendered.html


@pytest.mark.parametrize("locale", ["ar", "he"])
def test_rtl_voice_has_no_isolates(locale):
    twiml = render_voice_twiml(message(channel="call", locale=locale, amount="€1", payee="S"))
    assert not {"\u2066", "\u2068", "\u2069"} & set(twiml)
    assert "1, 2, 3, 4, 5, 6." in says(twiml)


@pytest.mark.parametrize("name", ["\u202eevil", "a\u2066b", "x\u2069y", "\u202d1\u202c"])
def test_bidi_controls_are_dropped_from_names(name):
    body = render_sms(message(locale="ar", service_name=name))
    assert body.count("\u2066") == body.count("\u2069") - 1  # code's LRI, name's FSI, two PDIs
    assert not {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e"} & set(body)
