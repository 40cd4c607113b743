"""The engine keeps time on the platform clock, and times an outcome when the answer came.

The platform clock is the database's (`verify_platform.lib.clock`): a host whose own clock is
minutes off must neither take over a live lease nor send a retry before it is due, and a
lease written on one host must be judged on the same clock by the sweeper of another.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from services.models import Webhook, WebhookDelivery
from services.webhooks import delivery
from tests.webhooks.conftest import Answer, factor_verified_payload, make_webhook, record
from verify_platform.lib import clock, sids

pytestmark = pytest.mark.django_db(transaction=True)
REAL_NOW = timezone.now

SETTINGS = {
    "RETRY_BASE_SECONDS": 10.0,
    "RETRY_MAX_SECONDS": 600.0,
    "RETRY_WINDOW_SECONDS": 86400.0,
    "CONNECT_TIMEOUT": 1.0,
    "READ_TIMEOUT": 1.0,
    "LEASE_SECONDS": 60.0,
    "SWEEP_GRACE_SECONDS": 30.0,
    "DISABLE_AFTER_FAILURES": 1000,
    "ALLOW_PRIVATE_ADDRESSES": True,  # the receiver is on loopback
}


@pytest.fixture(autouse=True)
def settings_and_fresh_offset():
    clock.forget_offset()
    with override_settings(VERIFY_WEBHOOKS=SETTINGS):
        yield
    clock.forget_offset()  # after monkeypatch has given the host its own clock back


@pytest.fixture
def enqueued(monkeypatch):
    """(ids, countdown) of every enqueue, instead of the broker."""
    calls: list[tuple[list[int], float | None]] = []
    monkeypatch.setattr(
        delivery.dispatch,
        "enqueue",
        lambda ids, countdown=None: calls.append((list(ids), countdown)),
    )
    return calls


def host_clock_off_by(monkeypatch, offset: timedelta) -> None:
    """From now on this host's own clock is `offset` away from the database's."""
    monkeypatch.setattr(timezone, "now", lambda: REAL_NOW() + offset)
    clock.forget_offset()  # the platform clock measures the offset again, as it does each minute


def delivery_of(event) -> WebhookDelivery:
    return WebhookDelivery.objects.get(event=event)


@pytest.mark.parametrize(
    ("claimer", "sweeper"),
    [
        (timedelta(0), timedelta(minutes=5)),  # the sweeper's host runs fast
        (timedelta(minutes=-5), timedelta(0)),  # the claimer's host ran slow
    ],
)
def test_a_live_lease_is_not_taken_over_whatever_the_hosts_clocks(
    service, receiver, monkeypatch, claimer, sweeper
):
    make_webhook(service, receiver.url)
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    host_clock_off_by(monkeypatch, claimer)
    assert delivery.delivery_claim(delivery_id=delivery_of(event).pk) is not None
    host_clock_off_by(monkeypatch, sweeper)

    delivery.deliveries_sweep()

    row = delivery_of(event)
    assert row.status == "sending" and row.last_error == ""


def test_a_fast_host_does_not_send_a_retry_early(service, receiver, monkeypatch):
    make_webhook(service, receiver.url)
    receiver.answer(Answer(503))
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    assert delivery.delivery_attempt(delivery_id=delivery_of(event).pk) == "pending"
    host_clock_off_by(monkeypatch, timedelta(minutes=5))

    assert delivery.delivery_attempt(delivery_id=delivery_of(event).pk) is None

    assert len(receiver.received) == 1
    assert delivery_of(event).attempts == 1


def test_a_dead_workers_lease_is_taken_back_on_the_platform_clock(service, monkeypatch, enqueued):
    make_webhook(service, "http://127.0.0.1:9/unused")
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    assert delivery.delivery_claim(delivery_id=delivery_of(event).pk) is not None
    lease_end = delivery_of(event).lease_expires_at
    host_clock_off_by(monkeypatch, timedelta(minutes=-5))  # a slow host: its own clock lags

    delivery.deliveries_sweep(now=lease_end + timedelta(seconds=1))

    row = delivery_of(event)
    assert row.status == "pending" and row.last_error == "claim expired"


class SteppingClock:
    """The platform clock in a test: stands still until the receiver moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self, now: datetime | None = None) -> datetime:
        return now if now is not None else self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture
def stepping(monkeypatch) -> SteppingClock:
    fake = SteppingClock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(clock, "current_time", fake)
    return fake


SLOW = timedelta(seconds=40)  # how long the receiver takes to answer, on the stepping clock


def test_the_outcome_is_timed_when_the_answer_came(service, receiver, stepping):
    webhook, _ = make_webhook(service, receiver.url)
    t0 = stepping.now
    slow = lambda: stepping.advance(SLOW)  # noqa: E731
    receiver.answer(Answer(503, on_request=slow), Answer(200, on_request=slow))
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())

    assert delivery.delivery_attempt(delivery_id=delivery_of(event).pk) == "pending"

    row = delivery_of(event)
    assert row.window_started_at == t0 and row.last_attempt_at == t0
    # The backoff (base 10 s, equal jitter) runs from the failure, not from the call's start.
    assert t0 + SLOW + timedelta(seconds=5) <= row.next_attempt_at
    assert row.next_attempt_at <= t0 + SLOW + timedelta(seconds=10)
    assert row.date_updated == t0 + SLOW
    webhook.refresh_from_db()
    assert webhook.failing_since == t0 + SLOW
    [first] = receiver.received
    assert first.headers["webhook-timestamp"] == str(int(t0.timestamp()))  # signed when sent

    stepping.now = t1 = row.next_attempt_at
    assert delivery.delivery_attempt(delivery_id=row.pk) == "succeeded"
    row = delivery_of(event)
    assert row.last_attempt_at == t1 and row.date_completed == t1 + SLOW
    assert receiver.received[1].headers["webhook-timestamp"] == str(int(t1.timestamp()))


def test_the_retry_window_is_judged_when_the_answer_came(service, receiver, stepping):
    make_webhook(service, receiver.url)
    receiver.answer(Answer(503, on_request=lambda: stepping.advance(SLOW)))
    event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    with override_settings(VERIFY_WEBHOOKS={**SETTINGS, "RETRY_WINDOW_SECONDS": 30.0}):
        # Started inside the 30 s window, answered after it closed: no further retry.
        assert delivery.delivery_attempt(delivery_id=delivery_of(event).pk) == "failed"
    assert delivery_of(event).date_completed == stepping.now


def test_auto_disable_counts_until_the_last_answer(service, receiver, stepping):
    webhook, _ = make_webhook(service, receiver.url)
    t0 = stepping.now
    slow = lambda: stepping.advance(timedelta(minutes=70))  # noqa: E731
    receiver.answer(Answer(500), Answer(500, on_request=slow))
    limits = {"DISABLE_AFTER_FAILURES": 2, "DISABLE_AFTER_SECONDS": 3600.0}
    with override_settings(VERIFY_WEBHOOKS={**SETTINGS, **limits}):
        for _ in range(2):
            event = record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
            delivery.delivery_attempt(delivery_id=delivery_of(event).pk)
    # The first failure came at t0, the second one's answer 70 minutes later: the streak
    # spans more than the hour, although both calls started at t0.
    webhook.refresh_from_db()
    assert webhook.failing_since == t0
    assert webhook.status == Webhook.Status.DISABLED and webhook.auto_disabled
    assert webhook.date_disabled == t0 + timedelta(minutes=70)


def test_a_retry_message_that_comes_early_is_put_back_until_due(service, receiver, enqueued):
    make_webhook(service, receiver.url)
    factor = sids.factor_sid()
    receiver.answer(Answer(503))
    first = record(service, "factor.created", factor, factor_verified_payload(factor))
    second = record(service, "factor.deleted", factor, factor_verified_payload(factor))
    first_id, second_id = delivery_of(first).pk, delivery_of(second).pk
    assert delivery.delivery_attempt(delivery_id=first_id) == "pending"
    due = delivery_of(first).next_attempt_at
    enqueued.clear()

    # The retry's message, 1.5 s before the retry is due on the platform clock.
    early = due - timedelta(seconds=1.5)
    assert delivery.delivery_attempt(delivery_id=first_id, now=early) is None
    assert enqueued == [([first_id], 1.5)]
    # Waiting for the earlier event of its resource is not early: the release enqueues it.
    assert delivery.delivery_attempt(delivery_id=second_id, now=due) is None
    assert len(enqueued) == 1
    assert delivery.delivery_attempt(delivery_id=first_id, now=due) == "succeeded"
    assert enqueued[1:] == [([second_id], None)]  # the release
    # A duplicate message of a delivery that is done is not put back either.
    assert delivery.delivery_attempt(delivery_id=first_id, now=due) is None
    assert len(enqueued) == 2 and len(receiver.received) == 2
