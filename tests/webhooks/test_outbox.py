"""A change written as one statement (an approved TOTP challenge, an approved verification, a
send recorded as sent) stores its event's webhook deliveries in that statement: the rows the
transactional path makes, for the same webhooks, enqueued once after commit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from challenges import domain as challenges
from challenges.models import DeliveryAttempt
from factors.models import Factor
from services import domain as services
from services.models import Event, WebhookDelivery
from tests.challenges.conftest import MOBILE, locmem_channels  # noqa: F401 (fixture)
from tests.factors.conftest import code_for, make_verified_factor
from tests.webhooks.conftest import make_webhook, record
from verify_platform.lib import sids

pytestmark = pytest.mark.django_db

URL = "https://backend.example.com/hook"
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
# What a delivery holds that depends on neither its webhook nor its event, nor the time.
CONSTANT = (
    "status",
    "attempts",
    "lease_expires_at",
    "last_attempt_at",
    "last_status_code",
    "last_error",
    "last_latency_ms",
    "last_response_body",
    "date_completed",
)


def subscribed(service, other_service, event_type: str) -> set[str]:
    """Webhooks of every kind; returns those the event must reach. Made after the earlier
    events of a test: inside the test's transaction their deliveries would wait for a commit
    that never comes, and the statement's would join them."""
    everything, _ = make_webhook(service, URL, ["*"])
    exact, _ = make_webhook(service, URL, ["factor.deleted", event_type])
    make_webhook(service, URL, ["factor.deleted"])
    make_webhook(service, URL, ["*"], status="disabled")
    make_webhook(other_service, URL, ["*"])
    return {everything.pk, exact.pk}


@pytest.fixture
def other_service(other_tenant):
    return services.service_create(account=other_tenant.account, friendly_name="Elsewhere")


def reached(event: Event) -> set[str]:
    return set(event.deliveries.values_list("webhook_id", flat=True))


def assert_like_the_transactional_path(service, event: Event) -> None:
    """Each delivery equals, column by column, one the ORM path schedules for an event."""
    other = record(service, event.type, sids.factor_sid(), {})
    expected = {
        d.webhook_id: tuple(getattr(d, name) for name in CONSTANT) for d in other.deliveries.all()
    }
    for delivery in event.deliveries.all():
        assert tuple(getattr(delivery, name) for name in CONSTANT) == expected[delivery.webhook_id]
        assert delivery.resource_sid == event.resource_sid
        assert delivery.status == WebhookDelivery.Status.PENDING
        assert delivery.next_attempt_at == delivery.window_started_at is not None
        assert delivery.date_created is not None and delivery.date_updated is not None


def loaded(factor) -> Factor:
    return Factor.objects.select_related("service", "entity").get(pk=factor.pk)


def test_an_approved_totp_challenge_is_one_statement_with_its_deliveries(
    service,
    other_service,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
    enqueued,
):
    factor, secret = make_verified_factor(service, now=NOW)
    factor = loaded(factor)
    expected = subscribed(service, other_service, "challenge.approved")
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(1):
        challenge = challenges.challenge_create(
            factor=factor, auth_payload=code_for(factor, secret, NOW), now=NOW
        )
    assert challenge.status == "approved"
    event = Event.objects.get(resource_sid=challenge.sid)
    assert event.type == "challenge.approved"
    assert reached(event) == expected
    assert_like_the_transactional_path(service, event)
    assert enqueued == [sorted(event.deliveries.values_list("pk", flat=True))]


def test_a_webhook_enabled_after_the_factor_was_read_still_gets_the_event(
    service, django_capture_on_commit_callbacks, enqueued
):
    """The factor and its service were read before the webhook existed; the statement reads
    the webhooks under its own snapshot."""
    factor, secret = make_verified_factor(service, now=NOW)
    factor = loaded(factor)
    hook, _ = make_webhook(service, URL)
    with django_capture_on_commit_callbacks(execute=True):
        challenge = challenges.challenge_create(
            factor=factor, auth_payload=code_for(factor, secret, NOW), now=NOW
        )
    assert reached(Event.objects.get(resource_sid=challenge.sid)) == {hook.pk}
    assert len(enqueued) == 1


def test_a_lost_race_stores_neither_event_nor_delivery(service, enqueued):
    """A replayed code: the statement's compare-and-set fails, so nothing of the outbox is
    written (the locked path then refuses the code and keeps the challenge pending)."""
    factor, secret = make_verified_factor(service, now=NOW)
    make_webhook(service, URL)
    code = code_for(factor, secret, NOW)
    first = challenges.challenge_create(factor=loaded(factor), auth_payload=code, now=NOW)
    again = challenges.challenge_create(factor=loaded(factor), auth_payload=code, now=NOW)
    assert (first.status, again.status) == ("approved", "pending")
    assert not Event.objects.filter(resource_sid=again.sid).exists()
    assert WebhookDelivery.objects.count() == 1


def test_an_approved_verification_is_one_statement_with_its_deliveries(
    tenant,
    service,
    other_service,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
    enqueued,
):
    service.custom_code_enabled = True
    service.save(update_fields=["custom_code_enabled"])
    expected = subscribed(service, other_service, "verification.approved")
    verification = challenges.verification_start(
        service=service, to=MOBILE, channel="sms", custom_code="482913", now=NOW
    )
    # The unlocked read, then the approval with its event and deliveries.
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(2):
        checked = challenges.verification_check_find(
            account=tenant.account, service_sid=service.sid, to=MOBILE, code="482913", now=NOW
        )
    assert checked.status == "approved"
    event = Event.objects.get(resource_sid=verification.sid, type="verification.approved")
    assert reached(event) == expected
    assert_like_the_transactional_path(service, event)
    assert enqueued == [sorted(event.deliveries.values_list("pk", flat=True))]


def test_a_recorded_send_is_one_statement_with_its_deliveries(
    service,
    other_service,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
    enqueued,
):
    expected = subscribed(service, other_service, "delivery.sent")
    verification = challenges.verification_start(service=service, to=MOBILE, channel="sms", now=NOW)
    attempt = DeliveryAttempt.objects.get(verification=verification, step=0)
    # The claim, then the record with its event and deliveries.
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(2):
        assert challenges.delivery_attempt_send(attempt_sid=attempt.sid, now=NOW) == "sent"
    event = Event.objects.get(resource_sid=verification.sid, type="delivery.sent")
    assert reached(event) == expected
    assert_like_the_transactional_path(service, event)
    assert enqueued == [sorted(event.deliveries.values_list("pk", flat=True))]
