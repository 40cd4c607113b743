"""A worker killed in the middle of a send: its claim is taken over once its lease has run
out on the platform clock, and the event is delivered again with the same id."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest

from services.models import WebhookDelivery
from services.tasks import webhook_deliveries_sweep_task
from tests.webhooks.conftest import (
    Answer,
    factor_verified_payload,
    make_webhook,
    record,
    wait_until,
)
from tests.webhooks.worker import Worker
from verify_platform.lib import clock, sids

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

# A call may take 5 s, so the lease is 10 s (twice the longest call).
SHORT_LEASE = {"VERIFY_WEBHOOK_LEASE_SECONDS": "1", "VERIFY_WEBHOOK_TOTAL_TIMEOUT": "5"}


@pytest.fixture
def worker(django_db_setup, django_db_blocker, tmp_path):
    w = Worker(tmp_path / "worker.log", env=SHORT_LEASE)
    w.start()
    yield w
    w.stop()


def test_a_worker_killed_mid_send_is_taken_over_after_its_lease(service, receiver, worker):
    release = threading.Event()
    receiver.answer(Answer(200, hang=release))
    make_webhook(service, receiver.url)
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    try:
        receiver.wait_for(1, timeout=30)
        [child] = worker.children()
        os.kill(child, signal.SIGKILL)  # the pool process of the worker this test started
    finally:
        release.set()
    row = WebhookDelivery.objects.get(event=event)
    assert row.status == "sending" and row.attempts == 1
    assert row.lease_expires_at - row.last_attempt_at == timedelta(seconds=10)

    # Nothing takes the claim while the lease runs (the killed task's message comes back
    # to the new pool process, which finds the delivery claimed) ...
    wait_until(
        lambda: clock.current_time() > row.lease_expires_at + timedelta(seconds=1),
        timeout=20,
        what="the lease to run out",
    )
    assert len(receiver.received) == 1
    # ... then the sweeper takes it back and the event goes out again, same id.
    webhook_deliveries_sweep_task.delay()
    first, second = receiver.wait_for(2, timeout=30)
    assert dict(parse_qsl(first.body))["uuid"] == dict(parse_qsl(second.body))["uuid"] == event.sid
    done = wait_until(
        lambda: WebhookDelivery.objects.filter(event=event, status="succeeded").first(),
        what="the delivery recorded",
    )
    assert done.attempts == 2 and done.last_status_code == 200
