"""A verification's options through the real `twilio` adapter and SDK against the local fake
Twilio API: the Messaging Service of the destination's country (MessagingConfigurations),
and a call that waits for a key press, whose code only the signed voice callback reads."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from challenges.models import Verification
from tests.challenges.conftest import MOBILE, run_due
from tests.channels.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, fake_twilio  # noqa: F401
from tests.helpers import assert_twilio_error, form
from verify_platform.lib import crypto

pytestmark = pytest.mark.django_db

GERMAN_MOBILE = "+4915112345678"
EVERYWHERE = "MG" + "a1" * 16
GERMANY = "MG" + "d3" * 16
BASE_URL = "https://verify.example"


@pytest.fixture
def twilio_channels(settings, fake_twilio):  # noqa: F811 (the imported fixture)
    options = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": "+15005550006",
        "base_url": fake_twilio.url,
        "timeout": 5,
    }
    settings.VERIFY_CHANNELS = {
        channel: {"BACKEND": "twilio", "OPTIONS": options}
        for channel in ("sms", "call", "whatsapp")
    }
    return fake_twilio


def test_sms_leaves_through_the_messaging_service_of_the_destination_country(
    api, service, twilio_channels
):
    path = f"/v2/Services/{service.sid}/MessagingConfigurations"
    for country, sid in (("all", EVERYWHERE), ("de", GERMANY)):
        response = form(api, path, {"Country": country, "MessagingServiceSid": sid})
        assert response.status_code == 201, response.content
    for to in (GERMAN_MOBILE, MOBILE):
        created = form(
            api, f"/v2/Services/{service.sid}/Verifications", {"To": to, "Channel": "sms"}
        )
        assert created.status_code == 201
    run_due()
    sent = {r.value("To"): r for r in twilio_channels.requests if r.resource == "Messages"}
    assert sent[GERMAN_MOBILE].value("MessagingServiceSid") == GERMANY
    assert sent[MOBILE].value("MessagingServiceSid") == EVERYWHERE
    assert sent[GERMAN_MOBILE].value("From") is None


def test_without_a_configuration_sms_leaves_from_the_adapter_s_number(
    api, service, twilio_channels
):
    form(api, f"/v2/Services/{service.sid}/Verifications", {"To": MOBILE, "Channel": "sms"})
    run_due()
    [sent] = twilio_channels.requests
    assert sent.value("From") == "+15005550006" and sent.value("MessagingServiceSid") is None


def test_whatsapp_leaves_from_the_service_s_own_sender(api, service, twilio_channels):
    path = f"/v2/Services/{service.sid}"
    refused = form(api, path, {"Whatsapp.From": "whatsapp:14155238886"})
    assert_twilio_error(refused, 400, 60200)
    updated = form(
        api, path, {"Whatsapp.MsgServiceSid": EVERYWHERE, "Whatsapp.From": "+14155238886"}
    )
    assert updated.status_code == 200, updated.content
    form(api, f"{path}/Verifications", {"To": MOBILE, "Channel": "whatsapp"})
    run_due()
    [sent] = twilio_channels.requests
    assert sent.value("MessagingServiceSid") == EVERYWHERE
    assert sent.value("From") == "whatsapp:+14155238886"
    assert sent.value("To") == f"whatsapp:{MOBILE}"


def press(attempt_sid: str, digits: str = "5") -> ET.Element:
    """Twilio's signed Gather post for the call of `attempt_sid`, and the TwiML answered."""
    query = urlencode({"attempt": attempt_sid, "locale": "en"})
    url = f"{BASE_URL}/channels/twilio/voice?{query}"
    params = {"AccountSid": ACCOUNT_SID, "CallSid": "CA" + "0" * 32, "Digits": digits}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    response = Client().post(
        f"/channels/twilio/voice?{query}",
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature, "Host": "verify.example"},
        secure=True,
    )
    assert response.status_code == 200, response.content
    return ET.fromstring(response.content)


def spoken_digits(twiml: ET.Element) -> str:
    """The digits the TwiML says ("1, 2, 3." reads as "123")."""
    said = " ".join(say.text or "" for say in twiml.iter("Say"))
    return "".join(ch for ch in said if ch.isdigit())


def test_a_call_reads_the_code_only_after_a_key_press(api, service, twilio_channels, settings):
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = BASE_URL
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "verify.example"]
    created = form(
        api,
        f"/v2/Services/{service.sid}/Verifications",
        {"To": MOBILE, "Channel": "call", "SendDigits": "ww12"},
    )
    assert created.status_code == 201, created.content
    attempt_sid = created.json()["send_code_attempts"][0]["attempt_sid"]
    run_due()
    [call] = twilio_channels.requests
    assert call.value("SendDigits") == "ww12"
    first = ET.fromstring(call.value("Twiml"))
    assert first.find("Gather") is not None
    code = crypto.decrypt(Verification.objects.get().code_sealed)
    assert code not in call.value("Twiml")  # the first TwiML never held it
    assert spoken_digits(press(attempt_sid)).startswith(code)
    check = form(api, f"/v2/Services/{service.sid}/VerificationCheck", {"To": MOBILE, "Code": code})
    assert check.json()["status"] == "approved"
    # Once approved, a replayed key press hears no code.
    assert spoken_digits(press(attempt_sid)) == ""


def test_a_call_start_that_cannot_wait_for_a_key_is_refused(
    api, service, twilio_channels, settings
):
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = None
    path = f"/v2/Services/{service.sid}/Verifications"
    refused = form(api, path, {"To": MOBILE, "Channel": "call"})
    body = assert_twilio_error(refused, 400, 60200)
    assert "DtmfInputRequired" in body["message"]
    service.dtmf_input_required = False
    service.save()
    assert form(api, path, {"To": MOBILE, "Channel": "call"}).status_code == 201
    run_due()
    [call] = twilio_channels.requests
    assert call.value("Twiml") and ET.fromstring(call.value("Twiml")).find("Gather") is None
