"""The twilio adapter, driven through the real SDK against the local fake Twilio server."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET

import pytest
from django.core.exceptions import ImproperlyConfigured

from channels.adapters.twilio import TwilioAdapter
from channels.base import (
    ChannelOutcomeUnknownError,
    ChannelPermanentError,
    ChannelTemporaryError,
    DeliveryStatus,
)
from tests.channels.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, Hang, Reply, error
from tests.channels.helpers import (
    ATTEMPT_SID,
    FROM_NUMBER,
    MESSAGING_SERVICE_SID,
    WHATSAPP_FROM,
    message,
)

CALLBACK = f"https://verify.example.com/channels/twilio/status?attempt={ATTEMPT_SID}"


def test_sms_goes_through_the_messages_api(fake_twilio, twilio_options):
    adapter = TwilioAdapter(**twilio_options)
    result = adapter.send(message(status_callback_url=CALLBACK))

    (request,) = fake_twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.value("To") == "+14155550100"
    assert request.value("From") == FROM_NUMBER
    assert request.value("MessagingServiceSid") is None
    assert request.value("StatusCallback") == CALLBACK
    assert "123456" in request.value("Body")
    assert result.status == DeliveryStatus.QUEUED
    assert result.provider_message_id.startswith("SM")
    assert result.detail["provider_status"] == "queued"


def test_sms_through_a_messaging_service(fake_twilio, twilio_options):
    options = {**twilio_options, "messaging_service_sid": MESSAGING_SERVICE_SID}
    del options["from_number"]
    result = TwilioAdapter(**options).send(message())

    (request,) = fake_twilio.requests
    assert request.value("MessagingServiceSid") == MESSAGING_SERVICE_SID
    assert request.value("From") is None
    assert request.value("StatusCallback") is None  # none asked for, none sent
    assert result.status == DeliveryStatus.QUEUED  # Twilio's "accepted"


def test_whatsapp_uses_prefixed_addresses(fake_twilio, twilio_options):
    TwilioAdapter(**{**twilio_options, "whatsapp_from": f"whatsapp:{WHATSAPP_FROM}"}).send(
        message(channel="whatsapp")
    )

    (request,) = fake_twilio.requests
    assert request.value("To") == "whatsapp:+14155550100"
    assert request.value("From") == f"whatsapp:{WHATSAPP_FROM}"


def test_whatsapp_with_an_approved_content_template(fake_twilio, twilio_options):
    content_sid = "HX" + "e7" * 16
    TwilioAdapter(**{**twilio_options, "whatsapp_content_sid": content_sid}).send(
        message(channel="whatsapp", code="246810")
    )
    TwilioAdapter(**{**twilio_options, "whatsapp_content_sid": content_sid}).send(message())

    whatsapp, sms = fake_twilio.requests
    assert whatsapp.value("ContentSid") == content_sid
    assert json.loads(whatsapp.value("ContentVariables")) == {"1": "246810"}
    assert whatsapp.value("Body") is None
    assert sms.value("ContentSid") is None  # templates are WhatsApp's rule, not SMS's
    assert "123456" in sms.value("Body")


def test_call_goes_through_the_calls_api_with_twiml(fake_twilio, twilio_options):
    result = TwilioAdapter(**twilio_options).send(
        message(channel="call", locale="de", code="4071", status_callback_url=CALLBACK)
    )

    (request,) = fake_twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert request.value("To") == "+14155550100"
    assert request.value("From") == FROM_NUMBER
    assert request.value("StatusCallback") == CALLBACK
    says = ET.fromstring(request.value("Twiml")).findall("Say")
    assert [s.text for s in says].count("4, 0, 7, 1.") == 2
    assert {s.get("language") for s in says} == {"de-DE"}
    assert result.provider_message_id.startswith("CA")
    assert result.status == DeliveryStatus.QUEUED


def test_api_key_credentials(fake_twilio, twilio_options):
    key, secret = "SK" + "c3" * 16, "key-secret"
    fake_twilio.allow(key, secret)
    options = {**twilio_options, "api_key": key, "api_secret": secret}
    del options["auth_token"]
    TwilioAdapter(**options).send(message())

    (request,) = fake_twilio.requests
    assert request.path.startswith(f"/2010-04-01/Accounts/{ACCOUNT_SID}/")


def test_environment_does_not_leak_into_the_client(fake_twilio, twilio_options, monkeypatch):
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    TwilioAdapter(**twilio_options).send(message())
    assert len(fake_twilio.requests) == 1


# -- error mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected", "code"),
    [
        (
            Reply(400, error(21211, "The 'To' number is not a valid phone number.")),
            ChannelPermanentError,
            21211,
        ),
        (
            Reply(400, error(21608, "Unverified number on a trial account.")),
            ChannelPermanentError,
            21608,
        ),
        (Reply(403, error(20003, "Permission denied", 403)), ChannelPermanentError, 20003),
        (Reply(404, error(20404, "Not found", 404)), ChannelPermanentError, 20404),
        (Reply(500, error(20500, "Internal Server Error", 500)), ChannelTemporaryError, 20500),
        (Reply(503, "<html>bad gateway</html>"), ChannelTemporaryError, 503),  # SDK: code = status
        (Reply(429, error(20429, "Too Many Requests", 429)), ChannelTemporaryError, 20429),
    ],
)
def test_provider_errors_map_to_permanent_or_temporary(
    fake_twilio, twilio_options, reply, expected, code
):
    fake_twilio.script(reply)
    adapter = TwilioAdapter(**twilio_options)
    with pytest.raises(expected) as caught:
        adapter.send(message())
    assert type(caught.value) is expected  # a 4xx is never "temporary", a 5xx never final
    assert caught.value.code == code
    # The next send (script used up) succeeds: errors leave the adapter usable.
    assert adapter.send(message()).status == DeliveryStatus.QUEUED
    assert len(fake_twilio.requests) == 2


def test_wrong_credentials_are_permanent(fake_twilio, twilio_options):
    with pytest.raises(ChannelPermanentError) as caught:
        TwilioAdapter(**{**twilio_options, "auth_token": "wrong"}).send(message())
    assert caught.value.code == 20003
    assert fake_twilio.requests == []


def test_429_carries_retry_after(fake_twilio, twilio_options):
    fake_twilio.script(Reply(429, error(20429, "Too Many Requests", 429), {"Retry-After": "7"}))
    with pytest.raises(ChannelTemporaryError) as caught:
        TwilioAdapter(**twilio_options).send(message())
    assert caught.value.retry_after == 7.0


def test_retry_after_is_the_answer_of_the_failing_request(fake_twilio, twilio_options):
    """Read from the answer the adapter's own HTTP client kept for that request: a later
    answer without the header gives none, not the header of an earlier one."""
    adapter = TwilioAdapter(**twilio_options)
    fake_twilio.script(
        Reply(429, error(20429, "Too Many Requests", 429), {"Retry-After": "7"}),
        Reply(503, error(20500, "Unavailable", 503)),
        Reply(429, error(20429, "Too Many Requests", 429), {"Retry-After": "soon"}),
    )
    retry_after = []
    for _ in range(3):
        with pytest.raises(ChannelTemporaryError) as caught:
            adapter.send(message())
        retry_after.append(caught.value.retry_after)
    assert retry_after == [7.0, None, None]


def test_a_hung_provider_is_an_unknown_outcome_after_the_timeout(fake_twilio, twilio_options):
    """The request reached the provider: the message may be on its way, so the engine must
    not treat this like a refused connection."""
    fake_twilio.script(Hang())
    adapter = TwilioAdapter(**{**twilio_options, "timeout": 0.3})
    with pytest.raises(ChannelOutcomeUnknownError):
        adapter.send(message())
    assert len(fake_twilio.requests) == 1  # no retry behind the engine's back
    assert isinstance(ChannelOutcomeUnknownError("x"), ChannelTemporaryError)


def test_refused_connection_is_temporary_and_not_unknown(twilio_options):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: nothing listens there
    adapter = TwilioAdapter(**{**twilio_options, "base_url": f"http://127.0.0.1:{port}"})
    with pytest.raises(ChannelTemporaryError) as caught:
        adapter.send(message())
    assert not isinstance(caught.value, ChannelOutcomeUnknownError)


def test_unreadable_success_answer_is_an_unknown_outcome(fake_twilio, twilio_options):
    fake_twilio.script(Reply(201, "not json"))
    with pytest.raises(ChannelOutcomeUnknownError):
        TwilioAdapter(**twilio_options).send(message())


def test_a_failed_status_in_the_create_answer_is_permanent(fake_twilio, twilio_options):
    fake_twilio.script(
        Reply(201, {"sid": "SM" + "d4" * 16, "status": "failed", "error_code": 30007})
    )
    with pytest.raises(ChannelPermanentError) as caught:
        TwilioAdapter(**twilio_options).send(message())
    assert caught.value.code == 30007


def test_channels_without_a_sender_fail_permanently_without_a_request(fake_twilio, twilio_options):
    options = {**twilio_options}
    del options["whatsapp_from"]
    adapter = TwilioAdapter(**options)
    assert adapter.channel_problem("whatsapp")
    assert adapter.channel_problem("sms") is None
    with pytest.raises(ChannelPermanentError):
        adapter.send(message(channel="whatsapp"))
    with pytest.raises(ChannelPermanentError):
        adapter.send(message(channel="email", to="a@example.com"))
    assert fake_twilio.requests == []


# -- options ---------------------------------------------------------------------------------

GOOD = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "from_number": FROM_NUMBER}


@pytest.mark.parametrize(
    "options",
    [
        {},
        {**GOOD, "account_sid": "ACnothex"},
        {**GOOD, "account_sid": ""},
        {k: v for k, v in GOOD.items() if k != "auth_token"},
        {**GOOD, "api_key": "SK" + "0" * 32},  # key without secret
        {**GOOD, "api_key": "XX" + "0" * 32, "api_secret": "s"},
        {k: v for k, v in GOOD.items() if k != "from_number"},
        {**GOOD, "from_number": "+0123"},
        {**GOOD, "from_number": "not a valid sender id"},
        {**GOOD, "whatsapp_from": "whatsapp:12345"},
        {**GOOD, "messaging_service_sid": "MGshort"},
        {**GOOD, "whatsapp_content_sid": "HXshort"},
        {**GOOD, "call_from": "Acme"},
        {**GOOD, "base_url": "ftp://example.com"},
        {**GOOD, "base_url": "http://"},
        {**GOOD, "base_url": "https://example.com?x=1"},
        {**GOOD, "timeout": 0},
        {**GOOD, "timeout": "soon"},
        {**GOOD, "timeout": 1000},
        {**GOOD, "colour": "blue"},
    ],
)
def test_bad_options_are_refused_at_construction(options):
    with pytest.raises(ImproperlyConfigured):
        TwilioAdapter(**options)


@pytest.mark.parametrize(
    "options",
    [
        GOOD,
        {**GOOD, "from_number": "Acme"},  # alphanumeric sender ID
        {**GOOD, "from_number": "", "messaging_service_sid": MESSAGING_SERVICE_SID},
        {**GOOD, "base_url": "https://api.example.com/", "timeout": "2.5"},
        {**GOOD, "api_key": "SK" + "0" * 32, "api_secret": "s", "auth_token": ""},
    ],
)
def test_good_options_are_accepted(options):
    adapter = TwilioAdapter(**options)
    assert adapter.account_sid == ACCOUNT_SID


def test_alphanumeric_sender_cannot_place_calls():
    adapter = TwilioAdapter(**{**GOOD, "from_number": "Acme"})
    assert adapter.channel_problem("call")
    assert adapter.channel_problem("sms") is None
    assert (
        TwilioAdapter(**{**GOOD, "from_number": "Acme", "call_from": FROM_NUMBER}).channel_problem(
            "call"
        )
        is None
    )


# -- through the registry, from several threads ------------------------------------------------


def test_registry_builds_the_twilio_adapter_from_settings(settings, fake_twilio, twilio_options):
    from channels.registry import get_adapter

    settings.VERIFY_CHANNELS = {"call": {"BACKEND": "twilio", "OPTIONS": twilio_options}}
    adapter = get_adapter("call")
    assert get_adapter("call") is adapter  # built once
    adapter.send(message(channel="call"))
    assert [r.resource for r in fake_twilio.requests] == ["Calls"]


def test_concurrent_sends_each_reach_the_provider_once(fake_twilio, twilio_options):
    import threading

    adapter = TwilioAdapter(**twilio_options)
    barrier = threading.Barrier(6)
    results: list = []
    failures: list = []

    def send(n: int) -> None:
        try:
            barrier.wait(timeout=5)
            results.append(adapter.send(message(attempt_sid=f"VL{n:032x}", code=f"{n:06d}")))
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert failures == []
    assert len({r.provider_message_id for r in results}) == 6
    bodies = sorted(r.value("Body") for r in fake_twilio.requests)
    assert len(bodies) == 6
    assert all(f"{n:06d}" in body for n, body in enumerate(bodies))
