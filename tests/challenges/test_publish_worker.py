"""The cheap publish (`verify_platform.celery.publish`) end to end: a real worker consumes
what a verification start and a fallback timer publish through it, due and with an ETA."""

from __future__ import annotations

import pytest

from challenges import domain
from challenges.models import DeliveryAttempt
from tests.challenges.conftest import MOBILE
from tests.worker import messages, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_sends_what_publish_queues(worker, tenant):
    from services import domain as services_domain
    from verify_platform import celery

    service = services_domain.service_create(account=tenant.account, friendly_name="Publish")
    service.fallback = [{"channel": "whatsapp", "timeout": 1}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    verification = domain.verification_start(service=service, to=MOBILE, channel="auto")
    first = wait_for(
        lambda: DeliveryAttempt.objects.filter(verification=verification, step=0).first(),
        what="step 0",
    )
    [whatsapp] = wait_for(lambda: messages(worker.outbox, first.sid), what="the due publish")
    # Published by the worker itself when step 0 was sent, with an ETA one second later.
    second = wait_for(
        lambda: DeliveryAttempt.objects.filter(verification=verification, step=1).first(),
        what="step 1",
    )
    [sms] = wait_for(lambda: messages(worker.outbox, second.sid), what="the ETA publish")
    assert (whatsapp["channel"], sms["channel"]) == ("whatsapp", "sms")
    wait_for(lambda: worker.outcomes(second.sid) == ["sent"], what="the worker's record")
    assert worker.outcomes(first.sid) == ["sent"]
    # This process published step 0 through its kept producer.
    assert celery._kept_producer._producer is not None
