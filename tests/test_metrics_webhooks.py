"""Webhook metrics from the delivery engine against a real receiver on loopback: attempts by
outcome, and the lag from the event to its final outcome."""

from __future__ import annotations

import pytest
from django.test import override_settings

from services import domain as services_domain
from services.models import WebhookDelivery
from services.webhooks import delivery
from tests.test_metrics_endpoint import scrape, value
from tests.webhooks.conftest import (  # noqa: F401 (fixture)
    Answer,
    enqueued,
    factor_verified_payload,
    make_webhook,
    receiver,
    record,
)

pytestmark = pytest.mark.django_db(transaction=True)

FAST = {
    "RETRY_BASE_SECONDS": 10.0,
    "RETRY_MAX_SECONDS": 600.0,
    "RETRY_WINDOW_SECONDS": 86400.0,
    "CONNECT_TIMEOUT": 1.0,
    "READ_TIMEOUT": 1.0,
    "DISABLE_AFTER_FAILURES": 1000,
    "DISABLE_AFTER_SECONDS": 86400.0,
    "ALLOW_PRIVATE_ADDRESSES": True,
}


@pytest.fixture(autouse=True)
def fast_schedule(enqueued):  # noqa: F811 (the imported fixture)
    with override_settings(VERIFY_WEBHOOKS=FAST):
        yield


def test_deliveries_are_counted_by_outcome_with_their_lag(tenant, receiver):  # noqa: F811
    service = services_domain.service_create(account=tenant.account, friendly_name="Hooks")
    make_webhook(service, receiver.url)
    event = record(service, "factor.verified", "YF" + "0" * 32, factor_verified_payload())
    row = WebhookDelivery.objects.get(event=event)
    before = scrape()
    receiver.answer(Answer(status=503))
    assert delivery.delivery_attempt(delivery_id=row.pk) == WebhookDelivery.Status.PENDING
    row.refresh_from_db()
    later = row.next_attempt_at
    assert delivery.delivery_attempt(delivery_id=row.pk, now=later) == "succeeded"
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("verify_webhook_deliveries_total", outcome="retry") == 1
    assert delta("verify_webhook_deliveries_total", outcome="succeeded") == 1
    lag = "verify_webhook_delivery_lag_seconds"
    assert delta(f"{lag}_count", outcome="succeeded") == 1
    # Measured from the event's creation to the success, the retry's wait included.
    expected = (later - event.date_created).total_seconds()
    assert expected > 5
    assert delta(f"{lag}_sum", outcome="succeeded") == pytest.approx(expected, abs=0.01)
