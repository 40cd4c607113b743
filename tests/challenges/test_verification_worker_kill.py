"""A worker killed by PID in the middle of a send, then restarted: the verification is still
delivered, once, and checkable. Its own module, so no other test's worker shares the queue."""

from __future__ import annotations

import os
import signal

import pytest

from challenges import domain
from challenges.models import DeliveryAttempt
from tests.challenges.conftest import MOBILE
from tests.worker import Worker, messages, purge_queue, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def service(tenant):
    from services import domain as services_domain

    return services_domain.service_create(account=tenant.account, friendly_name="Killed")


def status_of(attempt: DeliveryAttempt) -> str:
    attempt.refresh_from_db()
    return attempt.status


def test_worker_killed_mid_send_still_delivers_once(transactional_db, outbox, service):
    from challenges.tasks import delivery_attempt_sweep_task

    purge_queue()
    first_worker = Worker(outbox, lease_seconds=2).start()
    try:
        (outbox / "block").write_text("")
        verification = domain.verification_start(service=service, to=MOBILE, channel="sms")
        attempt = DeliveryAttempt.objects.get(verification=verification)
        wait_for(lambda: (outbox / f"started-{attempt.sid}").exists(), what="send in progress")
        assert status_of(attempt) == "sending"
        [child] = first_worker.children()
        os.kill(child, signal.SIGKILL)
        first_worker.proc.send_signal(signal.SIGKILL)
        first_worker.proc.wait(timeout=10)
    finally:
        first_worker.stop()
    (outbox / "block").unlink()
    assert messages(outbox, attempt.sid) == []  # died before the provider took it

    second_worker = Worker(outbox, lease_seconds=2).start()
    try:

        def delivered():
            # What beat does every few seconds: the sweeper takes over once the lease ends.
            delivery_attempt_sweep_task.apply_async()
            return wait_for_short(lambda: messages(outbox, attempt.sid))

        [message] = wait_for(delivered, timeout=30, what="delivery after the restart")
        wait_for(lambda: status_of(attempt) == "sent", what="recorded as sent")
        assert len(messages(outbox, attempt.sid)) == 1
        assert domain.verification_check(verification=verification, code=message["code"]).valid
    finally:
        second_worker.stop()


def wait_for_short(condition):
    try:
        return wait_for(condition, timeout=1, what="")
    except AssertionError:
        return None
