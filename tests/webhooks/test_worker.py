"""End to end through a real Celery worker: commit an event, a receiver on loopback gets it."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from django.db import transaction
from django.http import QueryDict
from standardwebhooks.webhooks import Webhook as StandardWebhook
from twilio.request_validator import RequestValidator

from services.models import WebhookDelivery
from services.tasks import webhook_deliveries_sweep_task
from tests.webhooks.conftest import (
    Answer,
    Receiver,
    challenge_approved_payload,
    factor_verified_payload,
    make_webhook,
    record,
    wait_until,
)
from tests.webhooks.worker import celery_worker  # noqa: F401 - fixture
from verify_platform.lib import sids

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.usefixtures("celery_worker"),
]


def uuid_of(received) -> str:
    return dict(parse_qsl(received.body))["uuid"]


def settled(event) -> WebhookDelivery | None:
    row = WebhookDelivery.objects.filter(event=event).first()
    return row if row is not None and row.status not in ("pending", "sending") else None


def test_committed_event_arrives_signed_both_ways(tenant, service, receiver):
    _, secret = make_webhook(service, receiver.url)
    factor, challenge = sids.factor_sid(), sids.challenge_sid()
    event = record(
        service, "challenge.approved", challenge, challenge_approved_payload(factor, challenge)
    )
    [got] = receiver.wait_for(1, timeout=30)
    params = dict(parse_qsl(got.body))
    assert params["uuid"] == event.sid and params["type"] == "challenge.approved"
    assert params["challenge_sid"] == challenge and params["factor_sid"] == factor
    assert RequestValidator(tenant.auth_token).validate(
        receiver.url, QueryDict(got.body), got.headers["x-twilio-signature"]
    )
    StandardWebhook(secret).verify(got.body, got.headers, json_parse=False)
    row = wait_until(lambda: settled(event), what="delivery recorded")
    assert row.status == "succeeded" and row.attempts == 1 and row.last_status_code == 200


def test_503_then_200_is_delivered_exactly_once_with_the_same_id(service, receiver):
    _, secret = make_webhook(service, receiver.url)
    receiver.answer(Answer(503, "try later"))
    event = record(service, "factor.verified", sids.factor_sid(), factor_verified_payload())
    row = wait_until(lambda: settled(event), what="delivery settled")
    assert row.status == "succeeded" and row.attempts == 2
    first, second = receiver.received
    assert uuid_of(first) == uuid_of(second) == event.sid
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.sid
    # Each attempt is signed when it is sent (a retry seconds later carries a new timestamp;
    # test_delivery.py shows that with a controlled clock).
    for got in (first, second):
        StandardWebhook(secret).verify(got.body, got.headers, json_parse=False)
    assert int(second.headers["webhook-timestamp"]) >= int(first.headers["webhook-timestamp"])
    # A second event through the same worker proves nothing else was still queued for
    # the first one: its success is the only other request.
    later = record(service, "factor.deleted", sids.factor_sid(), factor_verified_payload())
    wait_until(lambda: settled(later), what="second delivery")
    assert [uuid_of(r) for r in receiver.received] == [event.sid, event.sid, later.sid]


def test_receiver_down_for_the_first_attempts_gets_it_later(service):
    receiver = Receiver()
    receiver.start()
    receiver.stop()  # keep the port, refuse connections
    try:
        make_webhook(service, receiver.url)
        event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
        # Pending again after two attempts: both were made and recorded as refused.
        row = wait_until(
            lambda: WebhookDelivery.objects.filter(
                event=event, attempts__gte=2, status="pending"
            ).first(),
            what="two refused attempts",
        )
        assert row.last_error == "connection error" and row.last_status_code is None
        receiver.start()
        [got] = receiver.wait_for(1, timeout=30)
        assert uuid_of(got) == event.sid
        row = wait_until(lambda: settled(event), what="delivery settled")
        assert row.status == "succeeded" and row.attempts >= 3
    finally:
        receiver.stop()


def test_rollback_filtering_and_disabled_send_nothing(service, receiver):
    other = Receiver()
    other.start()
    try:
        make_webhook(service, receiver.url, ["challenge.approved", "verification.approved"])
        make_webhook(service, other.url, ["*"], status="disabled")
        factor, challenge = sids.factor_sid(), sids.challenge_sid()
        with pytest.raises(RuntimeError), transaction.atomic():
            record(
                service,
                "challenge.approved",
                challenge,
                challenge_approved_payload(factor, challenge),
            )
            raise RuntimeError("the approval failed after the event was written")
        record(service, "factor.verified", factor, factor_verified_payload(factor))
        sentinel = record(service, "verification.approved", sids.verification_sid(), {})
        wait_until(lambda: settled(sentinel), what="sentinel delivered")
        assert [uuid_of(r) for r in receiver.received] == [sentinel.sid]
        assert other.received == []
        assert WebhookDelivery.objects.count() == 1
    finally:
        other.stop()


def test_4xx_ends_as_failed_without_retry(service, receiver):
    make_webhook(service, receiver.url)
    receiver.answer(Answer(404, "no such hook"))
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    row = wait_until(lambda: settled(event), what="delivery settled")
    assert row.status == "failed" and row.attempts == 1 and row.last_status_code == 404
    later = record(service, "factor.deleted", sids.factor_sid(), factor_verified_payload())
    wait_until(lambda: settled(later), what="second delivery")
    assert [uuid_of(r) for r in receiver.received] == [event.sid, later.sid]


def test_sweeper_delivers_when_the_enqueue_was_lost(service, receiver, monkeypatch):
    from services.webhooks import dispatch

    make_webhook(service, receiver.url)
    monkeypatch.setattr(dispatch, "enqueue", lambda ids, **kwargs: None)  # broker "lost" it
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    monkeypatch.undo()
    assert WebhookDelivery.objects.get(event=event).status == "pending"
    webhook_deliveries_sweep_task.delay()
    [got] = receiver.wait_for(1, timeout=30)
    assert uuid_of(got) == event.sid
    assert wait_until(lambda: settled(event)).status == "succeeded"
