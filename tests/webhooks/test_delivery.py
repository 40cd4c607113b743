"""The delivery engine against a real HTTP receiver on loopback, driven with `now=`.

Transactional tests: a delivery refuses to run inside a transaction, and the receiver must
see committed rows' outcomes exactly as a worker would produce them.
"""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from django.db import connection
from django.http import QueryDict
from django.test import override_settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as StandardWebhook
from twilio.request_validator import RequestValidator

from services.models import Webhook, WebhookDelivery
from services.webhooks import delivery
from tests.webhooks.conftest import (
    IDENTITY,
    Answer,
    challenge_approved_payload,
    factor_verified_payload,
    make_webhook,
    record,
)
from verify_platform.lib import sids

pytestmark = pytest.mark.django_db(transaction=True)

FAST = {
    "RETRY_BASE_SECONDS": 10.0,
    "RETRY_MAX_SECONDS": 600.0,
    "RETRY_WINDOW_SECONDS": 86400.0,
    "CONNECT_TIMEOUT": 1.0,
    "READ_TIMEOUT": 1.0,
    "DISABLE_AFTER_FAILURES": 1000,
    "DISABLE_AFTER_SECONDS": 86400.0,
    "ALLOW_PRIVATE_ADDRESSES": True,  # the receiver is on loopback
}


@pytest.fixture(autouse=True)
def fast_schedule():
    with override_settings(VERIFY_WEBHOOKS=FAST):
        yield


def one_delivery(event) -> WebhookDelivery:
    return WebhookDelivery.objects.get(event=event)


def params_of(received) -> dict[str, str]:
    return dict(parse_qsl(received.body, keep_blank_values=True))


def test_success_sends_signed_twilio_fields(tenant, service, receiver):
    _, secret = make_webhook(service, receiver.url)
    factor = sids.factor_sid()
    payload = {**factor_verified_payload(factor), "code": "123456", "binding_secret": "S3CR3T"}
    event = record(service, "factor.verified", factor, payload)
    now = timezone.now()

    assert delivery.delivery_attempt(delivery_id=one_delivery(event).pk, now=now) == "succeeded"

    [got] = receiver.wait_for(1)
    params = params_of(got)
    assert params == {
        "uuid": event.sid,
        "type": "factor.verified",
        "account_sid": tenant.sid,
        "service_sid": service.sid,
        "entity_identity": IDENTITY,
        "factor_sid": factor,
        "factor_type": "totp",
        "factor_friendly_name": "Alice's phone",
        "status": "verified",
        "updated_date": "2026-11-22T02:40:00Z",
        "sent_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert "123456" not in got.body and "S3CR3T" not in got.body
    assert got.path == "/hooks/verify?tenant=a"
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    # What a Django receiver using the twilio SDK does with the request.
    validator = RequestValidator(tenant.auth_token)
    assert validator.validate(receiver.url, QueryDict(got.body), got.headers["x-twilio-signature"])
    assert not RequestValidator("0" * 32).validate(
        receiver.url, QueryDict(got.body), got.headers["x-twilio-signature"]
    )
    # Standard Webhooks, verified by an independent implementation.
    StandardWebhook(secret).verify(got.body, got.headers, json_parse=False)
    assert got.headers["webhook-id"] == event.sid
    assert got.headers["webhook-timestamp"] == str(int(now.timestamp()))

    row = one_delivery(event)
    assert row.status == "succeeded" and row.attempts == 1
    assert row.last_status_code == 200 and row.last_response_body == "ok"
    assert row.last_latency_ms is not None and row.date_completed == now


def test_challenge_payload_serialises_nested_details(service, receiver):
    make_webhook(service, receiver.url, ["challenge.approved"])
    factor, challenge = sids.factor_sid(), sids.challenge_sid()
    event = record(
        service, "challenge.approved", challenge, challenge_approved_payload(factor, challenge)
    )
    delivery.delivery_attempt(delivery_id=one_delivery(event).pk)
    params = params_of(receiver.wait_for(1)[0])
    assert params["challenge_sid"] == challenge and params["status"] == "approved"
    assert params["challenge_details"] == '{"fields":[],"message":"Login from Paris"}'


def test_503_then_200_retries_with_same_id_and_fresh_signature(tenant, service, receiver):
    _, secret = make_webhook(service, receiver.url)
    receiver.answer(Answer(503, "busy"))
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    row = one_delivery(event)
    t0 = timezone.now()

    assert delivery.delivery_attempt(delivery_id=row.pk, now=t0) == "pending"
    row.refresh_from_db()
    assert row.attempts == 1 and row.last_status_code == 503 and row.last_response_body == "busy"
    wait = (row.next_attempt_at - t0).total_seconds()
    assert 5.0 <= wait <= 10.0  # base 10 s with equal jitter
    assert delivery.delivery_attempt(delivery_id=row.pk, now=t0) is None  # not due yet

    t1 = row.next_attempt_at
    assert delivery.delivery_attempt(delivery_id=row.pk, now=t1) == "succeeded"
    first, second = receiver.wait_for(2)
    assert params_of(first)["uuid"] == params_of(second)["uuid"] == event.sid
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.sid
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    validator = RequestValidator(tenant.auth_token)
    for got in (first, second):
        assert validator.validate(
            receiver.url, QueryDict(got.body), got.headers["x-twilio-signature"]
        )
    StandardWebhook(secret).verify(second.body, second.headers, json_parse=False)
    row.refresh_from_db()
    assert row.status == "succeeded" and row.attempts == 2
    assert delivery.delivery_attempt(delivery_id=row.pk, now=t1 + timedelta(hours=1)) is None
    assert len(receiver.received) == 2


def test_retryable_statuses_schedule_a_retry(service, receiver):
    make_webhook(service, receiver.url)
    for status in (408, 429, 500, 502, 503, 504):
        receiver.answer(Answer(status))
        event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
        assert delivery.delivery_attempt(delivery_id=one_delivery(event).pk) == "pending"
        row = one_delivery(event)
        assert row.last_status_code == status and row.next_attempt_at > row.last_attempt_at


def test_other_answers_end_as_failed_without_retry(service, receiver):
    webhook, _ = make_webhook(service, receiver.url)
    statuses = (301, 400, 401, 403, 404, 410, 422)
    for count, status in enumerate(statuses, start=1):
        receiver.answer(Answer(status, "no\x00pe"))
        event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
        row = one_delivery(event)
        now = timezone.now()
        assert delivery.delivery_attempt(delivery_id=row.pk, now=now) == "failed"
        assert delivery.delivery_attempt(delivery_id=row.pk, now=now + timedelta(days=1)) is None
        row.refresh_from_db()
        assert row.status == "failed" and row.attempts == 1 and row.last_status_code == status
        assert row.last_response_body == "no\ufffdpe"
        assert len(receiver.received) == count
    webhook.refresh_from_db()
    assert webhook.failure_streak == len(statuses) and webhook.status == "enabled"


def test_connection_refused_is_retried(service, receiver):
    make_webhook(service, receiver.url)
    receiver.stop()
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    assert delivery.delivery_attempt(delivery_id=one_delivery(event).pk) == "pending"
    row = one_delivery(event)
    assert row.last_status_code is None and row.last_error == "connection error"


def test_timeout_is_bounded_and_retried(service, receiver):
    make_webhook(service, receiver.url)
    release = threading.Event()
    receiver.answer(Answer(200, hang=release))
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    with override_settings(VERIFY_WEBHOOKS={**FAST, "READ_TIMEOUT": 0.3}):
        try:
            outcome = delivery.delivery_attempt(delivery_id=one_delivery(event).pk)
        finally:
            release.set()
    assert outcome == "pending"
    assert one_delivery(event).last_error == "timeout"


def test_retry_after_is_honoured_within_the_cap(service, receiver):
    make_webhook(service, receiver.url)
    for header, at_least, at_most in (("120", 120, 121), ("99999", 600, 600), ("soon", 5, 10)):
        receiver.answer(Answer(429, headers={"Retry-After": header}))
        event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
        now = timezone.now()
        delivery.delivery_attempt(delivery_id=one_delivery(event).pk, now=now)
        wait = (one_delivery(event).next_attempt_at - now).total_seconds()
        assert at_least <= wait <= at_most, header


def test_backoff_is_exponential_capped_and_jittered():
    rng = random.Random(7)
    with override_settings(
        VERIFY_WEBHOOKS={**FAST, "RETRY_BASE_SECONDS": 5, "RETRY_MAX_SECONDS": 3600}
    ):
        for attempt in range(1, 60):
            ceiling = min(3600, 5 * 2 ** (attempt - 1))
            delays = {delivery.retry_delay(attempt, rng=rng) for _ in range(20)}
            assert all(ceiling / 2 <= d <= ceiling for d in delays)
            assert len(delays) > 1  # jitter
        assert delivery.retry_delay(10_000, rng=rng) <= 3600


@override_settings(VERIFY_WEBHOOKS={**FAST, "RETRY_MAX_SECONDS": 3600.0})
def test_retries_last_the_window_then_fail(service, receiver):
    make_webhook(service, receiver.url)
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    row = one_delivery(event)
    start = row.window_started_at
    receiver.answer(*[Answer(503)] * 200)
    now, attempts = start, 0
    while attempts < 200:
        outcome = delivery.delivery_attempt(delivery_id=row.pk, now=now)
        attempts += 1
        if outcome != "pending":
            break
        now = WebhookDelivery.objects.get(pk=row.pk).next_attempt_at
    assert outcome == "failed"
    row.refresh_from_db()
    assert now - start >= timedelta(hours=24)  # retried for at least the window
    assert row.attempts == attempts == len(receiver.received)
    assert len({params_of(r)["uuid"] for r in receiver.received}) == 1


def test_auto_disable_after_a_long_failure_streak(service, receiver):
    webhook, _ = make_webhook(service, receiver.url)
    receiver.answer(*[Answer(500)] * 50)
    settings = {**FAST, "DISABLE_AFTER_FAILURES": 3, "DISABLE_AFTER_SECONDS": 3600}
    with override_settings(VERIFY_WEBHOOKS=settings):
        events = [
            record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
            for _ in range(5)
        ]
        start = timezone.now()
        # Three quick failures: a streak, but not yet a long one.
        for event in events[:3]:
            delivery.delivery_attempt(delivery_id=one_delivery(event).pk, now=start)
        webhook.refresh_from_db()
        assert webhook.status == "enabled" and webhook.failure_streak == 3
        delivery.delivery_attempt(
            delivery_id=one_delivery(events[3]).pk, now=start + timedelta(hours=2)
        )
    webhook.refresh_from_db()
    assert webhook.status == "disabled" and webhook.auto_disabled
    assert "4 consecutive failed attempts" in webhook.disabled_reason
    statuses = dict(WebhookDelivery.objects.values_list("event_id", "status"))
    assert statuses[events[4].sid] == "canceled"
    assert {statuses[e.sid] for e in events[:4]} == {"canceled"}
    sent = len(receiver.received)
    record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    assert WebhookDelivery.objects.count() == 5  # nothing new for a disabled webhook
    assert len(receiver.received) == sent == 4


def test_success_resets_the_streak(service, receiver):
    webhook, _ = make_webhook(service, receiver.url)
    receiver.answer(Answer(500), Answer(500))
    for _ in range(3):
        event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
        delivery.delivery_attempt(delivery_id=one_delivery(event).pk)
    webhook.refresh_from_db()
    assert webhook.failure_streak == 0 and webhook.failing_since is None


def test_events_of_one_resource_are_delivered_in_order(service, receiver):
    make_webhook(service, receiver.url)
    factor, other = sids.factor_sid(), sids.factor_sid()
    created = record(service, "factor.created", factor, factor_verified_payload(factor))
    verified = record(service, "factor.verified", factor, factor_verified_payload(factor))
    unrelated = record(service, "factor.created", other, factor_verified_payload(other))
    receiver.answer(Answer(503))
    now = timezone.now()
    later = now + timedelta(hours=1)

    assert delivery.delivery_attempt(delivery_id=one_delivery(created).pk, now=now) == "pending"
    # The later event of the same factor waits, even when its own time has come ...
    assert delivery.delivery_attempt(delivery_id=one_delivery(verified).pk, now=later) is None
    # ... while other resources are not held up.
    assert delivery.delivery_attempt(delivery_id=one_delivery(unrelated).pk, now=now) == (
        "succeeded"
    )
    assert delivery.delivery_attempt(delivery_id=one_delivery(created).pk, now=later) == (
        "succeeded"
    )
    assert delivery.delivery_attempt(delivery_id=one_delivery(verified).pk, now=later) == (
        "succeeded"
    )
    order = [(params_of(r)["uuid"]) for r in receiver.wait_for(4)]
    assert order == [created.sid, unrelated.sid, created.sid, verified.sid]


def test_a_finally_failed_event_releases_the_next_one(service, receiver):
    make_webhook(service, receiver.url)
    factor = sids.factor_sid()
    first = record(service, "factor.created", factor, factor_verified_payload(factor))
    second = record(service, "factor.deleted", factor, factor_verified_payload(factor))
    receiver.answer(Answer(400))
    assert delivery.delivery_attempt(delivery_id=one_delivery(first).pk) == "failed"
    assert delivery.delivery_attempt(delivery_id=one_delivery(second).pk) == "succeeded"


def test_concurrent_claims_have_exactly_one_winner(service):
    make_webhook(service, "http://127.0.0.1:9/unused")
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    row = one_delivery(event)
    barrier = threading.Barrier(8)
    won: list[bool] = []

    def claim():
        try:
            barrier.wait(5)
            claimed = delivery.delivery_claim(delivery_id=row.pk, now=timezone.now())
            won.append(claimed is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(won) == [False] * 7 + [True]
    row.refresh_from_db()
    assert row.status == "sending" and row.attempts == 1


def test_a_late_result_after_the_claim_was_taken_back_is_dropped(service, receiver):
    make_webhook(service, receiver.url)
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    now = timezone.now()
    claimed = delivery.delivery_claim(delivery_id=one_delivery(event).pk, now=now)
    # The worker died; the sweeper takes the claim back after the lease.
    delivery.deliveries_sweep(now=now + timedelta(minutes=5))
    row = one_delivery(event)
    assert row.status == "pending" and row.last_error == "claim expired"
    result = delivery.SendResult(status_code=200)
    assert delivery.delivery_record(delivery=claimed, result=result, now=now) is None
    assert one_delivery(event).status == "pending"


def test_sweeper_enqueues_overdue_deliveries_only(service, monkeypatch):
    make_webhook(service, "http://127.0.0.1:9/unused")
    factor = sids.factor_sid()
    first = record(service, "factor.created", factor, factor_verified_payload(factor))
    waiting = record(service, "factor.verified", factor, factor_verified_payload(factor))
    other = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    enqueued: list[list[int]] = []
    monkeypatch.setattr(delivery.dispatch, "enqueue", lambda ids, **kw: enqueued.append(ids))
    assert delivery.deliveries_sweep(now=timezone.now()) == 0  # within the grace period
    assert enqueued == []
    assert delivery.deliveries_sweep(now=timezone.now() + timedelta(minutes=5)) == 2
    ids = set(enqueued[0])
    assert ids == {one_delivery(first).pk, one_delivery(other).pk}  # `waiting` waits its turn
    assert one_delivery(waiting).pk not in ids


def test_replay_sends_the_same_event_again(service, receiver):
    make_webhook(service, receiver.url)
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    row = one_delivery(event)
    assert delivery.delivery_attempt(delivery_id=row.pk) == "succeeded"
    assert delivery.delivery_replay(delivery=row) is True
    assert delivery.delivery_replay(delivery=row) is False  # already pending
    assert delivery.delivery_attempt(delivery_id=row.pk) == "succeeded"
    first, second = receiver.wait_for(2)
    assert params_of(first)["uuid"] == params_of(second)["uuid"] == event.sid
    row.refresh_from_db()
    assert row.attempts == 2


def test_webhook_disabled_after_scheduling_sends_nothing(service, receiver):
    webhook, _ = make_webhook(service, receiver.url)
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    row = one_delivery(event)
    Webhook.objects.filter(pk=webhook.pk).update(status="disabled")  # bypass the cascade
    assert delivery.delivery_attempt(delivery_id=row.pk) == "canceled"
    row.refresh_from_db()
    assert row.status == "canceled" and row.attempts == 0
    assert receiver.received == []


def test_refuses_to_run_inside_a_transaction(service):
    from django.db import transaction

    make_webhook(service, "http://127.0.0.1:9/unused")
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    with pytest.raises(RuntimeError), transaction.atomic():
        delivery.delivery_attempt(delivery_id=one_delivery(event).pk)


def test_private_destinations_are_refused_unless_allowed(service, receiver):
    make_webhook(service, receiver.url)
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    with override_settings(VERIFY_WEBHOOKS={**FAST, "ALLOW_PRIVATE_ADDRESSES": False}):
        assert delivery.delivery_attempt(delivery_id=one_delivery(event).pk) == "failed"
    row = one_delivery(event)
    assert row.last_error == "destination not allowed" and row.last_status_code is None
    assert receiver.received == []


def test_unreadable_signing_keys_are_retried_not_lost(service, receiver):
    from cryptography.fernet import Fernet

    make_webhook(service, receiver.url)
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    with override_settings(VERIFY_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        assert delivery.delivery_attempt(delivery_id=one_delivery(event).pk) == "pending"
    row = one_delivery(event)
    assert row.last_error == "signing keys unavailable" and receiver.received == []
    assert delivery.delivery_attempt(delivery_id=row.pk, now=row.next_attempt_at) == "succeeded"
