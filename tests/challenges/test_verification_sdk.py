"""Verifications through the official `twilio` SDK against the live server."""

from __future__ import annotations

from datetime import datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.challenges.conftest import LANDLINE, MOBILE, OTHER_MOBILE, outbox_codes, run_due


def _error(call) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as exc:
        call()
    return exc.value


def _code_for(to: str) -> str:
    codes = {code for _, dest, code in outbox_codes() if dest == to}
    assert len(codes) == 1, codes
    return codes.pop()


def test_create_send_check_approve(sdk, service):
    created = sdk.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    assert created.sid.startswith("VE") and len(created.sid) == 34
    assert created.service_sid == service.sid
    assert created.account_sid == service.account_id
    assert created.to == MOBILE and created.channel == "sms"
    assert created.status == "pending" and created.valid is False
    assert created.lookup == {} and created.amount is None and created.sna is None
    assert isinstance(created.date_created, datetime)
    assert created.url.endswith(f"/v2/Services/{service.sid}/Verifications/{created.sid}")
    [attempt] = created.send_code_attempts
    assert attempt["attempt_sid"].startswith("VL") and attempt["channel"] == "sms"
    assert attempt["status"] == "scheduled" and attempt["error"] is None
    assert isinstance(attempt["time"], str) and attempt["time"].endswith("Z")

    assert run_due() == ["sent"]
    code = _code_for(MOBILE)
    assert len(code) == 6 and code.isdigit()
    fetched = sdk.services(service.sid).verifications(created.sid).fetch()
    assert fetched.send_code_attempts[0]["status"] == "sent"

    wrong = "0" * 6 if code != "0" * 6 else "1" * 6
    check = sdk.services(service.sid).verification_checks.create(to=MOBILE, code=wrong)
    assert check.status == "pending" and check.valid is False and check.sid == created.sid
    check = sdk.services(service.sid).verification_checks.create(
        verification_sid=created.sid, code=code
    )
    assert check.status == "approved" and check.valid is True
    assert check.sna_attempts_error_codes == []

    # Approved is gone for good: fetch and a second correct check are 404 (replay).
    err = _error(sdk.services(service.sid).verifications(created.sid).fetch)
    assert (err.status, err.code) == (404, 20404)
    err = _error(lambda: sdk.services(service.sid).verification_checks.create(to=MOBILE, code=code))
    assert (err.status, err.code) == (404, 20404)


def test_resend_reuses_sid_and_code_and_caps_at_five(sdk, service):
    verifications = sdk.services(service.sid).verifications
    first = verifications.create(to=MOBILE, channel="sms")
    run_due()
    second = verifications.create(to=MOBILE, channel="call")
    assert second.sid == first.sid
    assert [a["channel"] for a in second.send_code_attempts] == ["sms", "call"]
    run_due()
    assert [c[0] for c in outbox_codes()] == ["sms", "call"]
    assert len({c[2] for c in outbox_codes()}) == 1  # the same code both times
    for _ in range(3):
        assert verifications.create(to=MOBILE, channel="sms").sid == first.sid
    err = _error(lambda: verifications.create(to=MOBILE, channel="sms"))
    assert (err.status, err.code) == (429, 60203)
    assert len(verifications(first.sid).fetch().send_code_attempts) == 5


def test_five_wrong_codes_end_it_and_then_even_the_right_code_is_refused(sdk, service):
    sdk.services(service.sid).verifications.create(to=MOBILE, channel="whatsapp")
    run_due()
    code = _code_for(MOBILE)
    wrong = "0" * 6 if code != "0" * 6 else "1" * 6
    checks = sdk.services(service.sid).verification_checks
    statuses = [checks.create(to=MOBILE, code=wrong).status for _ in range(5)]
    assert statuses == ["pending"] * 4 + ["max_attempts_reached"]
    err = _error(lambda: checks.create(to=MOBILE, code=code))
    assert (err.status, err.code) == (429, 60202)
    # No fresh code (and fresh guesses) for this destination until the lifetime is over.
    err = _error(lambda: sdk.services(service.sid).verifications.create(to=MOBILE, channel="sms"))
    assert (err.status, err.code) == (429, 60202)


def test_cancel_and_approve_by_update_also_by_to(sdk, service):
    verifications = sdk.services(service.sid).verifications
    created = verifications.create(to=MOBILE, channel="sms")
    fetched = verifications(MOBILE).fetch()  # the raw `+` in the path
    assert fetched.sid == created.sid
    canceled = verifications(MOBILE).update(status="canceled")
    assert canceled.sid == created.sid and canceled.status == "canceled"
    assert run_due() == []  # its scheduled send was canceled
    assert outbox_codes() == []
    err = _error(verifications(created.sid).fetch)
    assert (err.status, err.code) == (404, 20404)
    err = _error(lambda: verifications(created.sid).update(status="canceled"))
    assert (err.status, err.code) == (404, 20404)

    other = verifications.create(to=OTHER_MOBILE, channel="call")
    approved = verifications(other.sid).update(status="approved")
    assert approved.status == "approved" and approved.valid is True
    err = _error(lambda: verifications(other.sid).update(status="denied"))
    assert (err.status, err.code) == (400, 60200)


def test_email_channel_and_custom_fields(sdk, service, locmem_channels):
    created = sdk.services(service.sid).verifications.create(
        to="Someone@Example.COM",
        channel="email",
        locale="pt-BR",
        custom_friendly_name="Acme Pay",
    )
    assert created.to == "Someone@example.com" and created.channel == "email"
    run_due()
    [message] = locmem_channels.outbox
    assert message.channel == "email" and message.locale == "pt-BR"
    assert message.service_name == "Acme Pay" and message.app_hash is None
    assert message.attempt_sid == created.send_code_attempts[0]["attempt_sid"]


def test_custom_code_only_when_enabled(sdk, service):
    verifications = sdk.services(service.sid).verifications
    err = _error(lambda: verifications.create(to=MOBILE, channel="sms", custom_code="4321"))
    assert (err.status, err.code) == (400, 60200) and "CustomCode" in err.msg
    service.custom_code_enabled = True
    service.save(update_fields=["custom_code_enabled"])
    verifications.create(to=MOBILE, channel="sms", custom_code="4321")
    run_due()
    assert _code_for(MOBILE) == "4321"
    check = sdk.services(service.sid).verification_checks.create(to=MOBILE, code="4321")
    assert check.status == "approved"


@pytest.mark.parametrize(
    ("to", "channel", "param"),
    [
        ("15017122661", "sms", "To"),  # no +
        ("+1 (415) 555-0100x", "sms", "To"),
        ("+123", "sms", "To"),
        ("+" + "9" * 20, "sms", "To"),
        ("+" + "".join(chr(0xFF10 + int(d)) for d in MOBILE[1:]), "sms", "To"),  # full-width
        ("not-an-email", "email", "To"),
        (MOBILE, "email", "To"),
        ("a@example.com", "sms", "To"),
        (MOBILE, "pigeon", "Channel"),
        (MOBILE, "sna", "Channel"),
    ],
)
def test_bad_input_is_400_and_never_sent(sdk, service, to, channel, param):
    from challenges.models import Verification

    err = _error(lambda: sdk.services(service.sid).verifications.create(to=to, channel=channel))
    assert (err.status, err.code) == (400, 60200)
    assert param in err.msg
    assert not Verification.objects.exists()
    assert run_due() == [] and outbox_codes() == []


def test_landline_by_voice_is_fine_and_auto_skips_text_channels(sdk, service):
    service.fallback = [{"channel": "sms", "timeout": 30}, {"channel": "call"}]
    service.save(update_fields=["fallback"])
    by_call = sdk.services(service.sid).verifications.create(to=LANDLINE, channel="auto")
    assert by_call.channel == "call"


def test_over_long_friendly_name_and_disabled_channel(sdk, service, settings):
    verifications = sdk.services(service.sid).verifications
    err = _error(
        lambda: verifications.create(to=MOBILE, channel="sms", custom_friendly_name="x" * 31)
    )
    assert (err.status, err.code) == (400, 60200) and "CustomFriendlyName" in err.msg
    settings.VERIFY_CHANNELS = {"sms": {"BACKEND": "locmem", "OPTIONS": {}}}
    err = _error(lambda: verifications.create(to=MOBILE, channel="whatsapp"))
    assert (err.status, err.code) == (400, 60200) and "Channel" in err.msg


def test_other_tenant_sees_nothing(sdk, other_sdk, service):
    created = sdk.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    err = _error(other_sdk.services(service.sid).verifications(created.sid).fetch)
    assert (err.status, err.code) == (404, 20404)
    err = _error(
        lambda: other_sdk.services(service.sid).verification_checks.create(
            verification_sid=created.sid, code="123456"
        )
    )
    assert (err.status, err.code) == (404, 20404)
    err = _error(
        lambda: other_sdk.services(service.sid).verifications.create(to=MOBILE, channel="sms")
    )
    assert (err.status, err.code) == (404, 20404)
