"""Challenges on phone factors (extension) through the official SDK: a challenge sends a
fresh code bound to it, the challenge update with that code approves it once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from twilio.base.exceptions import TwilioRestException

from challenges import domain
from challenges.models import Challenge, DeliveryAttempt, FactorCode
from factors.models import Factor
from services.models import Event
from tests.challenges.conftest import LANDLINE, MOBILE, run_due
from tests.phone import IDENTITY, enrolled_factor, last_code, sent, wrong_code


def _error(call) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as exc:
        call()
    return exc.value


def _entity(sdk, service):
    return sdk.services(service.sid).entities(IDENTITY)


@pytest.mark.parametrize(
    ("factor_type", "channel", "number"),
    [("sms", "sms", MOBILE), ("whatsapp", "whatsapp", MOBILE), ("voice", "call", LANDLINE)],
)
def test_challenge_sends_a_code_and_the_update_approves_it(
    sdk, service, factor_type, channel, number
):
    factor = enrolled_factor(service, number, factor_type=factor_type)
    enrolment_code = last_code(number)

    created = _entity(sdk, service).challenges.create(
        factor_sid=factor.sid, details_message="Log in to Acme"
    )
    assert created.status == "pending" and created.factor_type == factor_type
    assert created.date_responded is None
    assert created.details["message"] == "Log in to Acme"
    assert run_due() == ["sent"]
    assert sent(number)[-1][0] == channel
    code = last_code(number)
    assert len(sent(number)) == 2 and len(code) == 6  # enrolment + this challenge

    approved = _entity(sdk, service).challenges(created.sid).update(auth_payload=code)
    assert approved.status == "approved"
    assert isinstance(approved.date_responded, datetime)
    session = FactorCode.objects.get(challenge_id=created.sid)
    assert session.status == "approved" and session.code_sealed == ""
    types = set(Event.objects.filter(resource_sid=created.sid).values_list("type", flat=True))
    assert types == {"delivery.sent", "challenge.approved"}

    # Replay: the approved challenge refuses the code again ...
    err = _error(lambda: _entity(sdk, service).challenges(created.sid).update(auth_payload=code))
    assert (err.status, err.code) == (403, 60322)
    # ... and the code (or the enrolment's) is no answer to another challenge: each code is
    # bound to its own request.
    second = _entity(sdk, service).challenges.create(factor_sid=factor.sid)
    run_due()
    if code != last_code(number):
        answered = _entity(sdk, service).challenges(second.sid).update(auth_payload=code)
        assert answered.status == "pending"
    if enrolment_code != last_code(number):
        answered = _entity(sdk, service).challenges(second.sid).update(auth_payload=enrolment_code)
        assert answered.status == "pending"
    assert Factor.objects.get(pk=factor.sid).consecutive_failures >= 1


def test_five_wrong_codes_deny_and_then_even_the_right_code_is_refused(sdk, service):
    factor = enrolled_factor(service, MOBILE)
    created = _entity(sdk, service).challenges.create(factor_sid=factor.sid)
    run_due()
    code = last_code(MOBILE)
    challenge = _entity(sdk, service).challenges(created.sid)
    statuses = [challenge.update(auth_payload=wrong_code(code)).status for _ in range(5)]
    assert statuses == ["pending"] * 4 + ["denied"]
    err = _error(lambda: challenge.update(auth_payload=code))
    assert (err.status, err.code) == (429, 60308)
    session = FactorCode.objects.get(challenge_id=created.sid)
    assert session.status == "max_attempts_reached" and session.check_attempts == 5
    assert session.code_sealed == ""
    assert Factor.objects.get(pk=factor.sid).consecutive_failures == 5  # the factor throttle
    assert Event.objects.filter(resource_sid=created.sid, type="challenge.denied").count() == 1


def test_bad_input_is_400(sdk, service):
    factor = enrolled_factor(service, MOBILE)
    challenges = _entity(sdk, service).challenges
    err = _error(lambda: challenges.create(factor_sid=factor.sid, auth_payload="123456"))
    assert (err.status, err.code) == (400, 60200) and "AuthPayload" in err.msg
    err = _error(
        lambda: challenges.create(
            factor_sid=factor.sid,
            expiration_date=datetime.now(UTC) + timedelta(minutes=11),
        )
    )
    assert (err.status, err.code) == (400, 60200) and "ExpirationDate" in err.msg
    assert not Challenge.objects.exists()
    created = challenges.create(factor_sid=factor.sid)
    for payload in ("12a456", "１２３４５６", "123", "12345"):
        err = _error(lambda p=payload: challenges(created.sid).update(auth_payload=p))
        assert (err.status, err.code) == (400, 60200), payload
    assert FactorCode.objects.get(challenge_id=created.sid).check_attempts == 0


def test_another_tenant_gets_404(sdk, other_sdk, service):
    factor = enrolled_factor(service, MOBILE)
    created = _entity(sdk, service).challenges.create(factor_sid=factor.sid)
    run_due()
    theirs = _entity(other_sdk, service)
    err = _error(lambda: theirs.challenges(created.sid).update(auth_payload=last_code(MOBILE)))
    assert (err.status, err.code) == (404, 20404)
    err = _error(theirs.challenges(created.sid).fetch)
    assert (err.status, err.code) == (404, 20404)
    err = _error(lambda: theirs.challenges.create(factor_sid=factor.sid))
    assert (err.status, err.code) == (404, 20404)
    assert len(sent(MOBILE)) == 2  # enrolment + the tenant's own challenge
    assert Challenge.objects.get(pk=created.sid).status == "pending"


def test_an_unverified_phone_factor_cannot_be_challenged(sdk, service):
    from factors import domain as factor_domain

    factor, _ = factor_domain.factor_create(
        service=service,
        identity=IDENTITY,
        factor_type="sms",
        friendly_name="p",
        phone_number=MOBILE,
    )
    err = _error(lambda: _entity(sdk, service).challenges.create(factor_sid=factor.sid))
    assert (err.status, err.code) == (403, 60318)


def test_sixth_code_within_ten_minutes_is_429(sdk, service):
    factor = enrolled_factor(service, MOBILE)  # the enrolment is the first of five
    for _ in range(4):
        _entity(sdk, service).challenges.create(factor_sid=factor.sid)
    err = _error(lambda: _entity(sdk, service).challenges.create(factor_sid=factor.sid))
    assert (err.status, err.code) == (429, 60203)
    assert Challenge.objects.count() == 4


# --- the engine, driven through the domain with a fixed clock --------------------------------


T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def _challenge(factor, now=T0):
    return domain.challenge_create(factor=factor, now=now)


def test_the_same_code_follows_the_fallback_plan_from_the_factors_channel(service):
    service.fallback = [
        {"channel": "whatsapp", "timeout": 30},
        {"channel": "sms", "timeout": 60},
        {"channel": "call"},
    ]
    service.save(update_fields=["fallback"])
    factor = enrolled_factor(service, MOBILE, now=T0 - timedelta(hours=1))
    challenge = _challenge(factor)
    session = FactorCode.objects.get(challenge_id=challenge.sid)
    assert session.plan == [{"channel": "sms", "timeout": 60}, {"channel": "call"}]

    assert run_due(T0) == ["sent"]
    assert run_due(T0 + timedelta(seconds=59)) == []
    assert run_due(T0 + timedelta(seconds=61)) == ["sent"]
    [(c1, _, code1), (c2, _, code2)] = sent(MOBILE)[-2:]
    assert (c1, c2) == ("sms", "call") and code1 == code2
    session.refresh_from_db()
    assert session.send_count == 1 and session.check_attempts == 0
    # A wrong answer after the fallback is still counted on the same code.
    domain.challenge_respond(
        challenge=challenge, auth_payload=wrong_code(code1), now=T0 + timedelta(seconds=62)
    )
    session.refresh_from_db()
    assert session.check_attempts == 1
    approved = domain.challenge_respond(
        challenge=challenge, auth_payload=code1, now=T0 + timedelta(seconds=63)
    )
    assert approved.status == "approved"
    assert Event.objects.filter(resource_sid=challenge.sid, type="delivery.fallback").count() == 1


def test_approval_cancels_the_scheduled_fallback_step(service):
    service.fallback = [{"channel": "sms", "timeout": 30}, {"channel": "call"}]
    service.save(update_fields=["fallback"])
    factor = enrolled_factor(service, MOBILE, now=T0 - timedelta(hours=1))
    challenge = _challenge(factor)
    run_due(T0)
    domain.challenge_respond(challenge=challenge, auth_payload=last_code(MOBILE), now=T0)
    assert run_due(T0 + timedelta(seconds=31)) == []
    steps = DeliveryAttempt.objects.filter(factor_code__challenge_id=challenge.sid)
    assert sorted(steps.values_list("channel", "status")) == [
        ("call", "canceled"),
        ("sms", "sent"),
    ]
    assert [c for c, _, _ in sent(MOBILE)].count("call") == 0


def test_a_failed_step_falls_back_at_once(service, locmem_channels):
    from channels.base import ChannelPermanentError

    service.fallback = [{"channel": "whatsapp", "timeout": 300}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    factor = enrolled_factor(service, MOBILE, factor_type="whatsapp", now=T0 - timedelta(hours=1))
    locmem_channels.script_failures("whatsapp", [ChannelPermanentError("blocked")])
    challenge = _challenge(factor)
    assert run_due(T0) == ["failed"]
    assert run_due(T0) == ["sent"]
    assert sent(MOBILE)[-1][0] == "sms"
    approved = domain.challenge_respond(challenge=challenge, auth_payload=last_code(MOBILE), now=T0)
    assert approved.status == "approved"


def test_nothing_is_sent_after_the_challenge_expired(service):
    service.fallback = [{"channel": "sms", "timeout": 30}, {"channel": "call"}]
    service.save(update_fields=["fallback"])
    factor = enrolled_factor(service, MOBILE, now=T0 - timedelta(hours=1))
    challenge = domain.challenge_create(
        factor=factor, expiration_date=T0 + timedelta(seconds=20), now=T0
    )
    run_due(T0)
    code = last_code(MOBILE)
    later = T0 + timedelta(seconds=31)
    assert run_due(later) == []  # the call step was due, but the code's life is over
    assert domain.challenge_expire_due(now=later) == 1
    session = FactorCode.objects.get(challenge_id=challenge.sid)
    assert session.status == "expired" and session.code_sealed == ""
    assert [c for c, _, _ in sent(MOBILE)].count("call") == 0
    from challenges.errors import ChallengeExpired

    with pytest.raises(ChallengeExpired):
        domain.challenge_respond(challenge=challenge, auth_payload=code, now=later)
    assert Event.objects.filter(resource_sid=challenge.sid, type="challenge.expired").count() == 1


def test_a_recovery_code_approves_and_closes_the_phone_code(service):
    from factors import domain as factor_domain

    factor = enrolled_factor(service, MOBILE, now=T0 - timedelta(hours=1))
    _, binding = factor_domain.recovery_codes_create(
        service=service, identity=IDENTITY, friendly_name="backup"
    )
    service.fallback = [{"channel": "sms", "timeout": 30}, {"channel": "call"}]
    service.save(update_fields=["fallback"])
    challenge = _challenge(factor)
    run_due(T0)
    approved = domain.challenge_respond(
        challenge=challenge, auth_payload=binding["codes"][0], now=T0
    )
    assert approved.status == "approved"
    session = FactorCode.objects.get(challenge_id=challenge.sid)
    assert session.status == "canceled" and session.code_sealed == ""
    assert run_due(T0 + timedelta(seconds=31)) == []


def test_expired_codes_are_swept(service):
    factor = enrolled_factor(service, MOBILE, now=T0 - timedelta(hours=1))
    challenge = _challenge(factor)
    assert domain.factor_code_expire_due(now=T0 + timedelta(minutes=4)) == 0
    assert domain.factor_code_expire_due(now=T0 + timedelta(minutes=5)) == 1
    session = FactorCode.objects.get(challenge_id=challenge.sid)
    assert session.status == "expired" and session.code_sealed == ""
    assert run_due(T0 + timedelta(minutes=5)) == []


def test_admin_shows_the_delivery_timeline_without_code_or_number(admin_client, service):
    factor = enrolled_factor(service, MOBILE, now=T0 - timedelta(hours=1))
    challenge = _challenge(factor)
    run_due(T0)
    code = last_code(MOBILE)
    page = admin_client.get(f"/admin/challenges/challenge/{challenge.sid}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "step 0 &middot; sms &middot; sent" in html
    assert code not in html and MOBILE not in html
    factor_page = admin_client.get(f"/admin/factors/factor/{factor.sid}/change/")
    assert factor_page.status_code == 200
    assert "+4*******3456" in factor_page.content.decode()
    assert MOBILE not in factor_page.content.decode()
