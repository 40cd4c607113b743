"""A real Celery worker sends push notifications: the challenge's notification is queued by
its registered name (`challenges.enqueue.push_notify_enqueue_on_commit`), the worker picks
it up, signs with the service's credential and reaches the fake provider, which checks the
request; a token the provider calls gone ends up on the factor."""

from __future__ import annotations

import pytest

from challenges.enqueue import push_notify_enqueue_on_commit
from factors.push_models import PushBinding
from tests.push_fakes import FakeAPNs, FakeFCM
from tests.push_support import (
    apn_credential,
    fcm_credential,
    push_challenge,
    push_factor,
    wire_service,
    worker_env,
)
from tests.worker import Worker, purge_queue, wait_for

APNS_TOKEN = "e5" * 32
FCM_TOKEN = "fcm-" + "f6" * 60


@pytest.fixture(scope="module")
def providers():
    with FakeAPNs() as apns, FakeFCM() as fcm:
        yield apns, fcm


@pytest.fixture(scope="module")
def push_worker(django_db_setup, providers, tmp_path_factory):
    apns, fcm = providers
    purge_queue()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in worker_env(apns=apns, fcm=fcm).items():
            patch.setenv(name, value)
        running = Worker(tmp_path_factory.mktemp("push-outbox")).start()
    yield running
    running.stop()


@pytest.fixture
def worker(push_worker, transactional_db):
    push_worker.alive()
    yield push_worker
    wait_for(push_worker.idle, timeout=20, what="worker idle")


@pytest.fixture
def wired(worker, providers, tenant, service):
    apns, fcm = providers
    return wire_service(
        service, apn=apn_credential(tenant.account, apns), fcm=fcm_credential(tenant.account, fcm)
    )


def _sends_for(fake, challenge_sid: str, n: int = 1):
    def found():
        hits = [
            r
            for r in list(fake.requests)
            if challenge_sid.encode() in r.body  # the SID is in both providers' payloads
        ]
        return hits if len(hits) >= n else None

    return wait_for(found, timeout=20, what=f"{n} push(es) for {challenge_sid}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("platform", "token"), [("apn", APNS_TOKEN), ("fcm", FCM_TOKEN)])
def test_the_worker_sends_the_notification(wired, worker, providers, platform, token):
    fake = providers[0] if platform == "apn" else providers[1]
    factor = push_factor(wired, f"user-{platform}", platform=platform, token=token)
    challenge = push_challenge(factor, message="Approve login?", hidden_details={"k": "HIDDEN-9"})
    push_notify_enqueue_on_commit(challenge.sid, None)
    [sent] = _sends_for(fake, challenge.sid)
    assert sent.problems == [] and sent.status == 200 and sent.token == token
    assert b"HIDDEN-9" not in sent.body
    wait_for(
        lambda: f"push notification {challenge.sid}: delivered" in worker.log(),
        what="the worker's outcome line",
    )
    assert token not in worker.log()


@pytest.mark.django_db(transaction=True)
def test_the_worker_retries_and_records_a_gone_token(wired, worker, providers):
    apns, _ = providers
    factor = push_factor(wired, "user-gone", platform="apn", token=APNS_TOKEN)
    apns.fail_next("unavailable")
    apns.fail_next("gone")
    challenge = push_challenge(factor)
    push_notify_enqueue_on_commit(challenge.sid, 60)
    first, second = _sends_for(apns, challenge.sid, 2)
    assert (first.status, second.status) == (503, 410)
    binding = wait_for(
        lambda: PushBinding.objects.filter(
            factor=factor, notification_token_invalid_at__isnull=False
        ).first(),
        what="the token marked invalid",
    )
    assert binding.notification_token_invalid_reason == "Unregistered"
