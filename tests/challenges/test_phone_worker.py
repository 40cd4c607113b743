"""A phone factor end to end through a real Celery worker on Redis and PostgreSQL: the
enrolment code, then a challenge whose code falls back from sms to a call after the step's
timeout, the same code both times."""

from __future__ import annotations

import pytest

from challenges import domain
from challenges.models import DeliveryAttempt, FactorCode
from factors import domain as factor_domain
from tests.challenges.conftest import MOBILE
from tests.worker import messages, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def service(tenant):
    """A one-second first step, written straight to the row (the API's minimum is longer)."""
    from services import domain as services_domain

    service = services_domain.service_create(account=tenant.account, friendly_name="Worker")
    service.fallback = [{"channel": "sms", "timeout": 1}, {"channel": "call"}]
    service.save(update_fields=["fallback"])
    return service


def _attempt(**filters) -> DeliveryAttempt:
    return wait_for(
        lambda: DeliveryAttempt.objects.filter(**filters).first(), what=f"attempt {filters}"
    )


def test_enrol_then_challenge_with_fallback_to_a_call(worker, service):
    factor, _ = factor_domain.factor_create(
        service=service,
        identity="worker-phone-01",
        factor_type="sms",
        friendly_name="Phone",
        phone_number=MOBILE,
    )
    enrolment = _attempt(factor_code__factor_id=factor.sid, factor_code__challenge__isnull=True)
    [sent] = wait_for(lambda: messages(worker.outbox, enrolment.sid), what="enrolment code")
    assert (sent["channel"], sent["to"]) == ("sms", MOBILE)
    factor = factor_domain.factor_update(factor=factor, auth_payload=sent["code"])
    assert factor.status == "verified"

    challenge = domain.challenge_create(factor=factor)
    first = _attempt(factor_code__challenge_id=challenge.sid, step=0)
    [sms] = wait_for(lambda: messages(worker.outbox, first.sid), what="challenge sms")
    second = _attempt(factor_code__challenge_id=challenge.sid, step=1)
    [call] = wait_for(lambda: messages(worker.outbox, second.sid), what="fallback call")
    assert (sms["channel"], call["channel"]) == ("sms", "call")
    assert sms["code"] == call["code"] and sms["to"] == call["to"] == MOBILE

    approved = domain.challenge_respond(challenge=challenge, auth_payload=call["code"])
    assert approved.status == "approved" and approved.date_responded is not None
    session = FactorCode.objects.get(challenge_id=challenge.sid)
    assert session.status == "approved" and session.send_count == 1
