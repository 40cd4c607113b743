"""What the adapters do with a message's options: the Messaging Service of the destination's
country, DTMF before a call, a call waiting for a key press, PSD2 and WhatsApp content
templates, and the e-mail sender a verification may choose."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.core.checks import run_checks

from channels.adapters.console import ConsoleAdapter
from channels.adapters.email import EmailAdapter, from_allowed
from channels.adapters.filebased import FileBasedAdapter
from channels.adapters.twilio import TwilioAdapter
from channels.base import ChannelPermanentError
from tests.channels.helpers import FROM_NUMBER, MESSAGING_SERVICE_SID, message

COUNTRY_SERVICE_SID = "MG" + "c3" * 16
SENDER = "codes@acme.example"


# --- twilio -------------------------------------------------------------------------------


def test_sms_from_the_messages_own_messaging_service(fake_twilio, twilio_options):
    TwilioAdapter(**twilio_options).send(message(messaging_service_sid=COUNTRY_SERVICE_SID))
    TwilioAdapter(**twilio_options).send(message())

    TwilioAdapter(**twilio_options).send(
        message(channel="whatsapp", messaging_service_sid=COUNTRY_SERVICE_SID)
    )

    chosen, default, whatsapp = fake_twilio.requests
    assert chosen.value("MessagingServiceSid") == COUNTRY_SERVICE_SID
    assert chosen.value("From") is None
    assert default.value("MessagingServiceSid") is None
    assert default.value("From") == FROM_NUMBER
    # WhatsApp: the Service's WhatsApp Messaging Service picks the sender.
    assert whatsapp.value("MessagingServiceSid") == COUNTRY_SERVICE_SID
    assert whatsapp.value("From") is None


def test_messages_service_overrides_the_configured_one(fake_twilio, twilio_options):
    options = {**twilio_options, "messaging_service_sid": MESSAGING_SERVICE_SID}
    del options["from_number"]
    TwilioAdapter(**options).send(message(messaging_service_sid=COUNTRY_SERVICE_SID))
    (request,) = fake_twilio.requests
    assert request.value("MessagingServiceSid") == COUNTRY_SERVICE_SID


def test_messaging_service_serves_sms_without_a_configured_sms_sender(fake_twilio, twilio_options):
    options = {**twilio_options}
    del options["from_number"]  # only whatsapp_from is left
    TwilioAdapter(**options).send(message(messaging_service_sid=COUNTRY_SERVICE_SID))
    (request,) = fake_twilio.requests
    assert request.value("MessagingServiceSid") == COUNTRY_SERVICE_SID


def test_malformed_messaging_service_is_refused(fake_twilio, twilio_options):
    with pytest.raises(ChannelPermanentError, match="Messaging Service"):
        TwilioAdapter(**twilio_options).send(message(messaging_service_sid="MGnope"))
    assert fake_twilio.requests == []


def test_send_digits_go_with_the_call(fake_twilio, twilio_options):
    TwilioAdapter(**twilio_options).send(message(channel="call", send_digits="ww1234#"))
    TwilioAdapter(**twilio_options).send(message(channel="call"))
    with_digits, without = fake_twilio.requests
    assert with_digits.value("SendDigits") == "ww1234#"
    assert without.value("SendDigits") is None


@pytest.mark.parametrize("digits", ["12a", "1" * 33, "1 2", "12\n"])
def test_bad_send_digits_are_refused(fake_twilio, twilio_options, digits):
    with pytest.raises(ChannelPermanentError, match="send_digits"):
        TwilioAdapter(**twilio_options).send(message(channel="call", send_digits=digits))
    assert fake_twilio.requests == []


def test_call_waiting_for_a_key_sends_no_code(fake_twilio, twilio_options, settings):
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = "https://verify.example.com"
    TwilioAdapter(**twilio_options).send(
        message(channel="call", dtmf_input_required=True, code="908172")
    )
    (request,) = fake_twilio.requests
    twiml = request.value("Twiml")
    assert "9, 0, 8" not in twiml and "908172" not in twiml
    gather = ET.fromstring(twiml).find("Gather")
    assert gather.get("action").startswith("https://verify.example.com/channels/twilio/voice?")
    assert request.value("Url") is None  # the TwiML goes inline, in no URL


def test_call_waiting_for_a_key_needs_a_public_base_url(fake_twilio, twilio_options, settings):
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = None
    with pytest.raises(ChannelPermanentError, match="VERIFY_STATUS_CALLBACK_BASE_URL"):
        TwilioAdapter(**twilio_options).send(message(channel="call", dtmf_input_required=True))
    assert fake_twilio.requests == []


def test_psd2_cannot_go_through_a_whatsapp_content_template(fake_twilio, twilio_options):
    adapter = TwilioAdapter(**{**twilio_options, "whatsapp_content_sid": "HX" + "e7" * 16})
    with pytest.raises(ChannelPermanentError, match="PSD2"):
        adapter.send(message(channel="whatsapp", amount="€5", payee="Shop"))
    assert fake_twilio.requests == []


def test_psd2_and_template_in_the_sms_body(fake_twilio, twilio_options):
    TwilioAdapter(**twilio_options).send(
        message(
            template_text="{{code}} for {{shop}}",
            substitutions={"shop": "Acme"},
            amount="€5",
            payee="Acme",
        )
    )
    (request,) = fake_twilio.requests
    assert request.value("Body") == "123456 for Acme\nAmount: €5. Payee: Acme."


def test_broken_template_fails_the_step(fake_twilio, twilio_options, tmp_path):
    broken = message(template_text="{{code}} {{missing}}")
    with pytest.raises(ChannelPermanentError, match="template"):
        TwilioAdapter(**twilio_options).send(broken)
    assert fake_twilio.requests == []
    # Development adapters fail the same way, not as an adapter bug to retry.
    for adapter in (ConsoleAdapter(stream=io.StringIO()), FileBasedAdapter(path=tmp_path)):
        with pytest.raises(ChannelPermanentError, match="missing"):
            adapter.send(broken)
    assert list(tmp_path.iterdir()) == []


# --- email --------------------------------------------------------------------------------


def sent_from(outbox_message) -> tuple[str, str]:
    parsed = message_from_bytes(outbox_message.message().as_bytes(), policy=policy.default)
    (address,) = parsed["From"].addresses
    return address.display_name, address.addr_spec


@pytest.mark.parametrize(
    ("allowed", "address", "ok"),
    [
        ([], "codes@acme.example", False),
        (["codes@acme.example"], "codes@acme.example", True),
        (["codes@acme.example"], "CODES@Acme.Example", True),
        (["codes@acme.example"], "other@acme.example", False),
        (["@acme.example"], "anyone@acme.example", True),
        (["@acme.example"], "anyone@evil-acme.example", False),
        (["@acme.example"], "anyone@sub.acme.example", False),
        (["@acme.example"], "Acme <anyone@acme.example>", False),
        (["@acme.example"], "anyone@acme.example\r\nBcc: x@y.example", False),
        (["@acme.example"], None, False),
    ],
)
def test_from_allowed(settings, allowed, address, ok):
    settings.VERIFY_EMAIL_ALLOWED_FROM = allowed
    assert from_allowed(address) is ok


def test_email_from_an_allowed_address_and_name(settings, mailoutbox):
    settings.VERIFY_EMAIL_ALLOWED_FROM = ["@acme.example"]
    result = EmailAdapter(from_email="Verify <verify@platform.example>").send(
        message(
            channel="email",
            to="user@example.com",
            channel_configuration={"from": SENDER, "from_name": "Acme Bänk"},
        )
    )
    settings.VERIFY_EMAIL_ALLOWED_FROM = ["@other.example"]
    EmailAdapter(from_email="Verify <verify@platform.example>").send(
        message(channel="email", to="user@example.com", channel_configuration={"from": SENDER})
    )
    allowed, refused = mail.outbox
    assert sent_from(allowed) == ("Acme Bänk", SENDER)
    assert result.detail["from"].endswith(f"<{SENDER}>")
    assert sent_from(refused) == ("Verify", "verify@platform.example")


def test_email_from_name_alone(settings, mailoutbox):
    EmailAdapter(from_email="verify@platform.example").send(
        message(channel="email", to="user@example.com", channel_configuration={"from_name": "Acme"})
    )
    EmailAdapter(from_email="Verify <verify@platform.example>").send(
        message(channel="email", to="user@example.com")
    )
    named, plain = mail.outbox
    assert sent_from(named) == ("Acme", "verify@platform.example")
    assert plain.from_email == "Verify <verify@platform.example>"  # no configuration: as set


@pytest.mark.parametrize(
    "name",
    [
        "Acme\r\nBcc: victim@example.com",
        "Acme\nSubject: hi",
        "Acme\rX-Evil: 1",
        'Acme" <evil@example.com>, "x',
        "=?utf-8?q?Acme=0D=0ABcc=3A_v=40example.com?=",
    ],
)
def test_from_name_cannot_add_headers_or_addresses(settings, mailoutbox, name):
    EmailAdapter(from_email="verify@platform.example").send(
        message(channel="email", to="user@example.com", channel_configuration={"from_name": name})
    )
    (sent,) = mail.outbox
    raw = sent.message().as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert parsed["Subject"] == "Your Acme Login verification code"
    (address,) = parsed["From"].addresses
    assert address.addr_spec == "verify@platform.example"
    assert "Acme" in address.display_name  # the name is used, as one line
    assert "\n" not in address.display_name and "\r" not in address.display_name
    assert sent.to == ["user@example.com"] and not sent.bcc


# --- checks -------------------------------------------------------------------------------


def _errors(ids: set[str]) -> list:
    return [m for m in run_checks(tags=["verify_channels"]) if m.id in ids]


def test_check_refuses_malformed_allowed_from(settings):
    settings.VERIFY_EMAIL_ALLOWED_FROM = ["@acme.example", "codes@acme.example", "acme.example"]
    (error,) = _errors({"verify_channels.E005"})
    assert "'acme.example'" in error.msg
    settings.VERIFY_EMAIL_ALLOWED_FROM = ["@acme.example", "codes@acme.example"]
    assert _errors({"verify_channels.E005"}) == []


def test_check_refuses_an_unloadable_voice_handler(settings):
    settings.VERIFY_VOICE_CODE_HANDLER = "tests.channels.nowhere.handler"
    (error,) = _errors({"verify_channels.E004"})
    assert "VERIFY_VOICE_CODE_HANDLER" in error.msg
