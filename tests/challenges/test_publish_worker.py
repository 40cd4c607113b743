"""Tasks queued by name (challenges/enqueue.py, services/webhooks/enqueue.py) end to end: a
real worker runs the registered task for what the enqueue functions queue, honours an ETA,
and sends what a verification start and its fallback timer queue through them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from challenges import domain
from challenges.enqueue import delivery_attempt_enqueue
from challenges.models import DeliveryAttempt
from services.webhooks.enqueue import WEBHOOK_DELIVER, webhook_deliveries_enqueue
from tests.challenges.conftest import MOBILE
from tests.worker import messages, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def sid(tag: str) -> str:
    return "VL" + tag.encode().hex().ljust(32, "0")[:32]


def test_a_send_queued_by_name_reaches_the_task(worker):
    """An attempt nobody stored: the real task runs, finds nothing to claim, and says so."""
    attempt = sid("byname")
    delivery_attempt_enqueue(attempt, None)
    wait_for(lambda: worker.outcomes(attempt) == ["skipped"], what="the task's outcome")


def test_a_send_with_an_eta_waits_for_it(worker):
    """Queued first with an ETA a few seconds ahead, then a due one: the worker runs the due
    one first (the queue alone is first in, first out), then the other once its time
    comes."""
    later, due = sid("eta-later"), sid("eta-due")
    delivery_attempt_enqueue(later, timezone.now() + timedelta(seconds=3))
    delivery_attempt_enqueue(due, None)
    wait_for(lambda: worker.outcomes(later) == ["skipped"], what="the ETA task")
    log = worker.log()
    assert log.index(f"delivery attempt {due}: ") < log.index(f"delivery attempt {later}: ")


def test_webhook_deliveries_queued_by_name_reach_the_task(worker):
    def runs() -> list[str]:
        return [
            line
            for line in worker.log().splitlines()
            if f"Task {WEBHOOK_DELIVER}[" in line and "succeeded" in line
        ]

    before = len(runs())
    webhook_deliveries_enqueue([987654321], None)  # no such row: the task has nothing to do
    wait_for(lambda: len(runs()) > before, what="the webhook task")


def test_the_worker_sends_what_a_verification_start_queues(worker, tenant):
    """Step 0 queued by this process after the commit, due; step 1 queued by the worker
    itself when step 0 was sent, with an ETA one second later."""
    from services import domain as services_domain

    service = services_domain.service_create(account=tenant.account, friendly_name="Publish")
    service.fallback = [{"channel": "whatsapp", "timeout": 1}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    verification = domain.verification_start(service=service, to=MOBILE, channel="auto")
    first = wait_for(
        lambda: DeliveryAttempt.objects.filter(verification=verification, step=0).first(),
        what="step 0",
    )
    [whatsapp] = wait_for(lambda: messages(worker.outbox, first.sid), what="the due send")
    second = wait_for(
        lambda: DeliveryAttempt.objects.filter(verification=verification, step=1).first(),
        what="step 1",
    )
    [sms] = wait_for(lambda: messages(worker.outbox, second.sid), what="the ETA send")
    assert (whatsapp["channel"], sms["channel"]) == ("whatsapp", "sms")
    wait_for(lambda: worker.outcomes(second.sid) == ["sent"], what="the worker's record")
    assert worker.outcomes(first.sid) == ["sent"]
