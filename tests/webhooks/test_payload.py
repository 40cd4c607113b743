"""What a delivery carries: Twilio's v2 names, strings only, never a secret or a code."""

from __future__ import annotations

from datetime import UTC, datetime

from services.models import Event
from services.webhooks import payload

SENT = datetime(2026, 11, 22, 2, 45, 7, 123456, tzinfo=UTC)


def event(**data) -> Event:
    return Event(
        sid="EV" + "1" * 32,
        account_id="AC" + "2" * 32,
        service_id="VA" + "3" * 32,
        type="challenge.approved",
        resource_sid="YC" + "4" * 32,
        payload=data,
    )


def test_v2_fields_are_flattened_to_strings():
    params = payload.build(
        event=event(
            entity_identity="user-0001",
            factor_sid="YF" + "5" * 32,
            challenge_sid="YC" + "4" * 32,
            challenge_metadata={"os": "Android"},
            responded=True,
            attempts=3,
            missing=None,
            uuid="forged",
            type="forged",
        ),
        sent_at=SENT,
    )
    assert params == {
        "uuid": "EV" + "1" * 32,
        "type": "challenge.approved",
        "account_sid": "AC" + "2" * 32,
        "service_sid": "VA" + "3" * 32,
        "entity_identity": "user-0001",
        "factor_sid": "YF" + "5" * 32,
        "challenge_sid": "YC" + "4" * 32,
        "challenge_metadata": '{"os":"Android"}',
        "responded": "true",
        "attempts": "3",
        "sent_at": "2026-11-22T02:45:07Z",
    }


def test_secrets_and_codes_never_travel():
    params = payload.build(
        event=event(
            code="123456",
            Code="654321",
            secret="JBSWY3DPEHPK3PXP",
            binding_secret="x",
            auth_payload="123456",
            access_token="tok",
            password="pw",
            uri="otpauth://totp/x?secret=JBSWY3DPEHPK3PXP",
            status="approved",
        ),
        sent_at=SENT,
    )
    assert set(params) == {"uuid", "type", "account_sid", "service_sid", "sent_at", "status"}


def test_v1_carries_the_legacy_subset():
    params = payload.build(
        event=event(entity_identity="user-0001", factor_friendly_name="phone", status="approved"),
        sent_at=SENT,
        version="v1",
    )
    assert "factor_friendly_name" not in params
    assert params["entity_identity"] == "user-0001" and params["status"] == "approved"
