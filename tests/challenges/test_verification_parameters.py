"""Every Verification parameter Twilio documents takes effect or is refused (400, naming it):
what each start puts in the message the adapter gets, what a check must repeat, what the
Attempts API and the events show, and the refusals."""

from __future__ import annotations

import pytest

from challenges.models import Verification
from services.models import Event
from tests.challenges.conftest import LANDLINE, MOBILE, run_due
from tests.challenges.conftest import start_verification as start
from tests.helpers import assert_twilio_error, form

pytestmark = pytest.mark.django_db

GERMAN_MOBILE = "+4915112345678"  # phonenumbers: MOBILE, carrier T-Mobile


def sent(locmem, api, service, **params):
    """Start, run the due sends, and return the one message the adapter got."""
    response = start(api, service, **params)
    assert response.status_code == 201, response.content
    run_due()
    [message] = locmem.outbox
    return message


def refused(response, parameter: str, code: int = 60200, status: int = 400) -> str:
    """A refusal naming `parameter`; the start wrote nothing (see `start`)."""
    body = assert_twilio_error(response, status, code)
    assert parameter in body["message"], body
    return body["message"]


def test_silent_network_auth_is_refused_clearly(api, service):
    message = refused(start(api, service, To=MOBILE, Channel="sna"), "Channel")
    assert "Silent Network Auth" in message
    refused(
        start(api, service, To=MOBILE, Channel="sms", EnableSnaClientToken="true"),
        "EnableSnaClientToken",
    )
    assert (
        start(api, service, To=MOBILE, Channel="sms", EnableSnaClientToken="false").status_code
        == 201
    )
    check = form(
        api,
        f"/v2/Services/{service.sid}/VerificationCheck",
        {"To": MOBILE, "Code": "123456", "SnaClientToken": "abc"},
    )
    assert_twilio_error(check, 400, 60200)


@pytest.mark.parametrize("name", ["CustomMessage", "Templates"])
def test_free_text_and_template_lists_are_refused(api, service, name):
    refused(start(api, service, To=MOBILE, Channel="sms", **{name: "Your code: {{code}}"}), name)


def test_send_digits_and_the_service_voice_reach_the_call(api, service, locmem_channels):
    service.tts_name, service.dtmf_input_required = "Polly.Joanna", True
    service.save()
    message = sent(locmem_channels, api, service, To=MOBILE, Channel="call", SendDigits="1w23#")
    assert (message.send_digits, message.dtmf_input_required) == ("1w23#", True)
    assert message.tts_voice == "Polly.Joanna"
    refused(start(api, service, To=MOBILE, Channel="sms", SendDigits="12"), "SendDigits")
    refused(start(api, service, To=MOBILE, Channel="call", SendDigits="12a"), "SendDigits")
    # `auto` follows the service's plan: an option for a channel it never sends on is refused.
    message = refused(start(api, service, To=MOBILE, Channel="auto", SendDigits="12"), "SendDigits")
    assert "no call" in message


def test_voice_options_are_not_put_on_text_messages(api, service, locmem_channels):
    service.tts_name = "Polly.Joanna"
    service.save()
    message = sent(locmem_channels, api, service, To=MOBILE, Channel="sms")
    assert (message.tts_voice, message.dtmf_input_required, message.send_digits) == (
        None,
        False,
        None,
    )


def test_the_service_s_voice_settings_are_validated(api, service):
    path = f"/v2/Services/{service.sid}"
    assert_twilio_error(form(api, path, {"TtsName": "<Say>"}), 400, 60200)
    updated = form(api, path, {"TtsName": "Polly.Joanna-Neural", "DtmfInputRequired": "false"})
    assert updated.status_code == 200
    assert updated.json()["tts_name"] == "Polly.Joanna-Neural"
    assert updated.json()["dtmf_input_required"] is False


def test_psd2_needs_the_flag_and_a_check_must_repeat_the_transaction(api, service, locmem_channels):
    refused(start(api, service, To=MOBILE, Channel="sms", Amount="€39.99", Payee="Acme"), "Amount")
    service.psd2_enabled = True
    service.save()
    refused(start(api, service, To=MOBILE, Channel="sms", Amount="€39.99"), "Payee")
    message = sent(
        locmem_channels, api, service, To=MOBILE, Channel="sms", Amount="€39.99", Payee="Acme"
    )
    assert (message.amount, message.payee) == ("€39.99", "Acme")
    check = f"/v2/Services/{service.sid}/VerificationCheck"
    other = form(
        api, check, {"To": MOBILE, "Code": message.code, "Amount": "€39.99", "Payee": "Evil"}
    )
    assert other.status_code == 201 and other.json()["status"] == "pending"
    assert Verification.objects.get().check_attempts == 1  # counted as a wrong code
    bare = form(api, check, {"To": MOBILE, "Code": message.code})
    assert bare.json()["status"] == "pending"
    right = form(
        api, check, {"To": MOBILE, "Code": message.code, "Amount": "€39.99", "Payee": "Acme"}
    )
    assert right.json()["status"] == "approved"
    assert (right.json()["amount"], right.json()["payee"]) == ("€39.99", "Acme")


def test_device_ip_is_recorded_and_metered(api, service, locmem_channels, settings):
    settings.VERIFY_SEND_BUDGETS = {**settings.VERIFY_SEND_BUDGETS, "DEVICE_IP_PER_MINUTE": 2}
    refused(start(api, service, To=MOBILE, Channel="sms", DeviceIp="300.1.2.3"), "DeviceIp")
    numbers = ["+447911123401", "+447911123402", "+447911123403"]
    for number in numbers[:2]:
        assert (
            start(api, service, To=number, Channel="sms", DeviceIp="203.0.113.7").status_code == 201
        )
    third = start(api, service, To=numbers[2], Channel="sms", DeviceIp="203.0.113.7")
    assert_twilio_error(third, 429, 20429)
    # Another device, and the same device in another spelling of IPv6, are told apart right.
    assert (
        start(api, service, To=numbers[2], Channel="sms", DeviceIp="2001:db8::1").status_code == 201
    )
    again = start(api, service, To="+447911123404", Channel="sms", DeviceIp="2001:0db8:0:0::1")
    assert again.status_code == 201
    spelled = start(api, service, To="+447911123405", Channel="sms", DeviceIp="2001:DB8::1")
    assert_twilio_error(spelled, 429, 20429)
    attempts = api.get("/v2/Attempts", {"ChannelData.To": numbers[0]}).json()["attempts"]
    assert attempts[0]["channel_data"]["device_ip"] == "203.0.113.7"


def test_tags_go_with_the_attempts_and_the_events(api, service, locmem_channels):
    eleven = "{" + ", ".join(f'"k{i}": "v"' for i in range(11)) + "}"
    refused(start(api, service, To=MOBILE, Channel="sms", Tags=eleven), "Tags")
    refused(start(api, service, To=MOBILE, Channel="sms", Tags='{"k": 1}'), "Tags")
    tags = '{"flow": "login", "tenant": "eu-1"}'
    created = start(api, service, To=MOBILE, Channel="sms", Tags=tags)
    assert created.status_code == 201
    run_due()
    attempts = api.get("/v2/Attempts").json()["attempts"]
    assert attempts[0]["channel_data"]["tags"] == {"flow": "login", "tenant": "eu-1"}
    code = locmem_channels.outbox[0].code
    form(api, f"/v2/Services/{service.sid}/VerificationCheck", {"To": MOBILE, "Code": code})
    approved = Event.objects.get(type="verification.approved")
    assert approved.payload["tags"] == {"flow": "login", "tenant": "eu-1"}


def test_risk_check_disable_is_an_account_permission(api, service, tenant, locmem_channels):
    premium = "+449001234567"  # phonenumbers: PREMIUM_RATE
    assert_twilio_error(start(api, service, To=premium, Channel="sms"), 403, 60410)
    message = refused(
        start(api, service, To=premium, Channel="sms", RiskCheck="disable"), "RiskCheck"
    )
    assert "may not" in message
    refused(start(api, service, To=MOBILE, Channel="call", RiskCheck="disable"), "RiskCheck")
    refused(start(api, service, To=MOBILE, Channel="sms", RiskCheck="off"), "RiskCheck")
    tenant.account.risk_check_disable_allowed = True
    tenant.account.save()
    assert_twilio_error(
        start(api, service, To=premium, Channel="sms", RiskCheck="enable"), 403, 60410
    )
    assert start(api, service, To=premium, Channel="sms", RiskCheck="disable").status_code == 201


def test_skip_sms_to_landlines(api, service, locmem_channels):
    message = sent(locmem_channels, api, service, To=LANDLINE, Channel="sms")
    assert message.to == LANDLINE  # without the flag the provider is left to try
    Verification.objects.all().delete()
    service.skip_sms_to_landlines = True
    service.save()
    assert_twilio_error(start(api, service, To=LANDLINE, Channel="sms"), 400, 60205)
    assert start(api, service, To=LANDLINE, Channel="call").status_code == 201


def test_lookup_reports_country_line_type_and_carrier(api, service):
    plain = start(api, service, To=GERMAN_MOBILE, Channel="sms").json()
    assert plain["lookup"] == {}
    service.lookup_enabled = True
    service.save()
    fetched = api.get(f"/v2/Services/{service.sid}/Verifications/{plain['sid']}").json()
    assert fetched["lookup"]["country_code"] == "DE"
    assert fetched["lookup"]["carrier"]["type"] == "mobile"
    assert fetched["lookup"]["carrier"]["name"] == "T-Mobile"
    landline = start(api, service, To=LANDLINE, Channel="call").json()
    assert landline["lookup"]["carrier"]["type"] == "landline"
    assert landline["lookup"]["country_code"] == "FR"


def test_the_locale_follows_the_number_s_country_unless_given(api, service, locmem_channels):
    message = sent(locmem_channels, api, service, To=GERMAN_MOBILE, Channel="sms")
    assert message.locale == "de"
    Verification.objects.all().delete()
    locmem_channels.reset()
    message = sent(locmem_channels, api, service, To=GERMAN_MOBILE, Channel="sms", Locale="fr")
    assert message.locale == "fr"


def test_email_sender_configuration(api, service, locmem_channels, settings):
    settings.VERIFY_EMAIL_ALLOWED_FROM = ["@acme.example"]
    to = "user@example.com"
    config = '{"from": "login@acme.example", "from_name": "Acme Login"}'
    message = sent(
        locmem_channels, api, service, To=to, Channel="email", ChannelConfiguration=config
    )
    assert message.channel_configuration == {
        "from": "login@acme.example",
        "from_name": "Acme Login",
    }
    bad = '{"from": "ceo@bank.example"}'
    refused(
        start(api, service, To="b@example.com", Channel="email", ChannelConfiguration=bad),
        "ChannelConfiguration",
    )
    refused(
        start(
            api,
            service,
            To="c@example.com",
            Channel="email",
            ChannelConfiguration='{"template_id": "d-1"}',
        ),
        "ChannelConfiguration",
    )
    refused(
        start(api, service, To=MOBILE, Channel="sms", ChannelConfiguration=config),
        "ChannelConfiguration",
    )


def test_event_streams_are_refused(api, service):
    response = form(api, f"/v2/Services/{service.sid}", {"VerifyEventSubscriptionEnabled": "true"})
    assert_twilio_error(response, 400, 60200)
    assert (
        form(
            api, f"/v2/Services/{service.sid}", {"VerifyEventSubscriptionEnabled": "false"}
        ).status_code
        == 200
    )
