"""Delivery through a real Celery worker on Redis and PostgreSQL: fallback timers, failures,
cancellation, duplicate tasks and a worker killed in the middle of a send."""

from __future__ import annotations

import pytest

from challenges import domain
from challenges.models import DeliveryAttempt, Verification
from tests.challenges.conftest import MOBILE
from tests.worker import messages, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def service(tenant):
    """Fallback steps of one second: shorter than the API allows (5 s), written straight to
    the row so the test needs no long waits."""
    from services import domain as services_domain

    service = services_domain.service_create(account=tenant.account, friendly_name="Worker")
    service.fallback = [{"channel": "whatsapp", "timeout": 1}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    return service


def start(service, channel: str = "auto") -> Verification:
    return domain.verification_start(service=service, to=MOBILE, channel=channel)


def step(verification: Verification, number: int) -> DeliveryAttempt:
    return wait_for(
        lambda: DeliveryAttempt.objects.filter(verification=verification, step=number).first(),
        what=f"step {number}",
    )


def status_of(attempt: DeliveryAttempt) -> str:
    attempt.refresh_from_db()
    return attempt.status


def test_whatsapp_then_sms_after_the_timeout_with_the_same_code(worker, service):
    verification = start(service)
    first = step(verification, 0)
    [whatsapp] = wait_for(lambda: messages(worker.outbox, first.sid), what="whatsapp message")
    second = step(verification, 1)
    [sms] = wait_for(lambda: messages(worker.outbox, second.sid), what="sms fallback")
    assert (whatsapp["channel"], sms["channel"]) == ("whatsapp", "sms")
    assert whatsapp["code"] == sms["code"] and whatsapp["to"] == sms["to"] == MOBILE
    wait_for(lambda: status_of(second) == "sent", what="sms recorded as sent")
    assert status_of(first) == "sent"
    assert domain.verification_check(verification=verification, code=sms["code"]).valid


def test_permanent_error_falls_back_at_once(worker, service):
    service.fallback = [{"channel": "whatsapp", "timeout": 300}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    (worker.outbox / "fail-whatsapp-1").write_text("permanent")
    verification = start(service)
    second = step(verification, 1)  # created by the failure, not 300 s later
    [sms] = wait_for(lambda: messages(worker.outbox, second.sid), timeout=15, what="sms")
    assert sms["channel"] == "sms"
    wait_for(lambda: status_of(second) == "sent", what="sms recorded")
    first = DeliveryAttempt.objects.get(verification=verification, step=0)
    assert first.status == "failed" and first.error_code == "T-permanent"
    assert messages(worker.outbox, first.sid) == []


def test_temporary_error_is_retried_on_the_same_channel(worker, service):
    service.fallback = [{"channel": "whatsapp", "timeout": 300}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    (worker.outbox / "fail-whatsapp-1").write_text("temporary")
    verification = start(service)
    first = step(verification, 0)
    [message] = wait_for(lambda: messages(worker.outbox, first.sid), what="retried send")
    assert message["channel"] == "whatsapp"
    wait_for(lambda: status_of(first) == "sent", what="recorded")
    first.refresh_from_db()
    assert first.tries == 2


def test_approval_cancels_the_scheduled_step(worker, service):
    service.fallback = [{"channel": "whatsapp", "timeout": 2}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    verification = start(service)
    first = step(verification, 0)
    [whatsapp] = wait_for(lambda: messages(worker.outbox, first.sid), what="whatsapp")
    second = step(verification, 1)
    assert domain.verification_check(verification=verification, code=whatsapp["code"]).valid
    assert status_of(second) == "canceled"
    # Its ETA task still fires at the old due time and must find nothing to send.
    wait_for(lambda: worker.outcomes(second.sid), what="the canceled step's task")
    assert worker.outcomes(second.sid) == ["skipped"]
    assert messages(worker.outbox, second.sid) == []


def test_the_same_task_delivered_twice_sends_once(worker, service):
    from challenges.tasks import delivery_attempt_send_task

    verification = start(service, channel="sms")
    attempt = step(verification, 0)
    delivery_attempt_send_task.apply_async(args=[attempt.sid])  # a second copy
    outcomes = wait_for(
        lambda: len(worker.outcomes(attempt.sid)) >= 2 and worker.outcomes(attempt.sid),
        what="both runs",
    )
    assert sorted(outcomes) == ["sent", "skipped"]
    assert len(messages(worker.outbox, attempt.sid)) == 1


def test_failed_status_callback_falls_back_at_once(worker, service, settings):
    from django.utils.module_loading import import_string

    from channels.base import DeliveryStatus

    service.fallback = [{"channel": "whatsapp", "timeout": 300}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    verification = start(service)
    first = step(verification, 0)
    [whatsapp] = wait_for(lambda: messages(worker.outbox, first.sid), what="whatsapp")
    wait_for(lambda: status_of(first) == "sent", what="recorded")
    second = step(verification, 1)  # the timer, due in 300 s
    first.refresh_from_db()
    handler = import_string(settings.VERIFY_DELIVERY_STATUS_HANDLER)
    assert handler(
        attempt_sid=first.sid,
        provider_message_id=first.provider_message_id,
        status=DeliveryStatus.UNDELIVERED,
        error_code="63016",
    )
    [sms] = wait_for(lambda: messages(worker.outbox, second.sid), timeout=15, what="sms now")
    assert sms["code"] == whatsapp["code"]
    assert status_of(first) == "undelivered"
    wait_for(lambda: status_of(second) == "sent", what="sms recorded")
