"""The provider status callback view (channels) driving the engine's handler end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from challenges import domain
from challenges.models import DeliveryAttempt
from channels.base import ChannelOutcomeUnknownError, ChannelTemporaryError
from services.models import Event
from tests.challenges.conftest import MOBILE, run_due

pytestmark = pytest.mark.django_db

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "engine-test-auth-token-0123456789"


@pytest.fixture
def channels(settings, locmem_channels):
    # The twilio adapter only lends its auth token to the signature check; sends go to locmem.
    settings.VERIFY_CHANNELS = {
        "sms": {
            "BACKEND": "twilio",
            "OPTIONS": {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "from_number": "+15005550006",
            },
        },
        "whatsapp": {"BACKEND": "locmem", "OPTIONS": {}},
        "call": {"BACKEND": "locmem", "OPTIONS": {}},
        "email": {"BACKEND": "locmem", "OPTIONS": {}},
    }
    settings.VERIFY_STATUS_CALLBACK_BASE_URL = "https://verify.example.com"
    return locmem_channels


def callback(attempt_sid: str, status: str, error_code: str = "") -> int:
    query = urlencode({"attempt": attempt_sid})
    params = {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": "SM" + "e5" * 16,
        "MessageStatus": status,
        **({"ErrorCode": error_code} if error_code else {}),
    }
    url = f"http://testserver/channels/twilio/status?{query}"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    response = Client().post(
        f"/channels/twilio/status?{query}",
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )
    return response.status_code


def test_undelivered_callback_falls_back_at_once_and_replays_are_noops(service, channels):
    service.fallback = [{"channel": "whatsapp", "timeout": 300}, {"channel": "call"}]
    service.save(update_fields=["fallback"])
    verification = domain.verification_start(service=service, to=MOBILE, channel="auto")
    assert run_due() == ["sent"]
    [whatsapp] = channels.outbox
    assert whatsapp.status_callback_url == (
        f"https://verify.example.com/channels/twilio/status?attempt={whatsapp.attempt_sid}"
    )
    assert run_due() == []  # the call step waits 300 s

    assert callback(whatsapp.attempt_sid, "undelivered", "63016") == 204
    assert run_due() == ["sent"]  # now, not in 300 s
    assert [m.channel for m in channels.outbox] == ["whatsapp", "call"]
    assert channels.outbox[1].code == whatsapp.code

    assert callback(whatsapp.attempt_sid, "undelivered", "63016") == 204  # a replay
    assert callback(whatsapp.attempt_sid, "delivered") == 204  # late and out of order
    attempt = DeliveryAttempt.objects.get(sid=whatsapp.attempt_sid)
    assert attempt.status == "undelivered" and attempt.error_code == "63016"
    assert Event.objects.filter(resource_sid=verification.sid, type="delivery.failed").count() == 1
    assert run_due() == []


def test_unknown_outcome_is_not_retried_blindly(service, locmem_channels):
    service.fallback = [{"channel": "whatsapp", "timeout": 30}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    locmem_channels.script_failures("whatsapp", [ChannelOutcomeUnknownError("read timeout")])
    verification = domain.verification_start(service=service, to=MOBILE, channel="auto")
    assert run_due() == ["sent"]
    first, second = DeliveryAttempt.objects.filter(verification=verification).order_by("step")
    assert first.status == "sent" and first.tries == 1
    assert first.error_message.startswith("outcome unknown")
    assert second.status == "scheduled"  # the fallback timer, not a second whatsapp


def test_provider_retry_after_is_honoured(service, locmem_channels):
    locmem_channels.script_failures("sms", [ChannelTemporaryError("429", retry_after=20)])
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    verification = domain.verification_start(service=service, to=MOBILE, channel="sms", now=t0)
    assert run_due(t0) == ["retry"]
    attempt = DeliveryAttempt.objects.get(verification=verification)
    assert attempt.due_at == t0 + timedelta(seconds=20)  # not the 2 s backoff
