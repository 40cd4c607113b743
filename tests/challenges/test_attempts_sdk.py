"""The Attempts API through the official `twilio` SDK, unchanged, against the live server:
`verification_attempts.list()`, `verification_attempts(sid).fetch()` and
`verification_attempts_summary().fetch()`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.challenges.conftest import MOBILE, OTHER_MOBILE, outbox_codes, run_due


def test_list_fetch_and_summary(sdk, other_sdk, service):
    services = sdk.services(service.sid)
    approved = services.verifications.create(to=MOBILE, channel="sms")
    pending = services.verifications.create(to=OTHER_MOBILE, channel="whatsapp")
    run_due()
    [code] = {c for _, to, c in outbox_codes() if to == MOBILE}
    assert services.verification_checks.create(to=MOBILE, code=code).status == "approved"

    attempts = sdk.verification_attempts.list(page_size=1)  # pages through next_page_url
    assert [a.verification_sid for a in attempts] == [approved.sid, pending.sid]
    first = attempts[0]
    assert first.sid == approved.send_code_attempts[0]["attempt_sid"]
    assert first.conversion_status == "converted" and first.channel == "sms"
    assert first.service_sid == service.sid and first.account_sid == service.account_id
    assert isinstance(first.date_created, datetime) and first.price is None
    assert first.channel_data["to"] == "+4*******3456"

    converted = sdk.verification_attempts.list(
        status="converted",
        verify_service_sid=service.sid,
        channel="sms",
        date_created_after=datetime.now(UTC) - timedelta(hours=1),
        date_created_before=datetime.now(UTC) + timedelta(hours=1),
    )
    assert [a.sid for a in converted] == [first.sid]
    by_to = sdk.verification_attempts.list(channel_data_to=OTHER_MOBILE, country="BR")
    assert [a.verification_sid for a in by_to] == [pending.sid]
    assert sdk.verification_attempts.list(verification_sid=pending.sid)[0].channel == "whatsapp"

    fetched = sdk.verification_attempts(first.sid).fetch()
    assert fetched.sid == first.sid and fetched.conversion_status == "converted"
    assert fetched.channel_data == first.channel_data

    summary = sdk.verification_attempts_summary().fetch()
    assert (summary.total_attempts, summary.total_converted, summary.total_unconverted) == (2, 1, 1)
    assert summary.conversion_rate_percentage == "50"
    sms = sdk.verification_attempts_summary().fetch(
        verify_service_sid=service.sid,
        channel="sms",
        destination_prefix="+44",
        date_created_after=datetime.now(UTC) - timedelta(days=1),
    )
    assert (sms.total_attempts, sms.total_converted) == (1, 1)

    # Another account sees none of it.
    with pytest.raises(TwilioRestException) as exc:
        other_sdk.verification_attempts(first.sid).fetch()
    assert (exc.value.status, exc.value.code) == (404, 20404)
    assert other_sdk.verification_attempts.list(verify_service_sid=service.sid) == []
    assert other_sdk.verification_attempts_summary().fetch().total_attempts == 0
