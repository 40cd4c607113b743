"""The operator console: delivery log with replay, webhooks with re-enable; no secrets."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from services.models import Webhook, WebhookDelivery
from tests.webhooks.conftest import factor_verified_payload, make_webhook, record
from verify_platform.lib import crypto, sids

URL = "https://backend.example.com/hook"


@pytest.fixture
def operator(client, db):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", None)
    client.force_login(user)
    return client


def test_delivery_log_lists_and_filters_without_secrets(operator, service):
    webhook, secret = make_webhook(service, URL)
    event = record(service, "factor.verified", sids.factor_sid(), factor_verified_payload())
    WebhookDelivery.objects.filter(event=event).update(
        status="failed",
        attempts=3,
        last_status_code=500,
        last_latency_ms=42,
        last_response_body="x" * 500,
    )
    page = operator.get("/admin/services/webhookdelivery/?status__exact=failed")
    assert page.status_code == 200
    html = page.content.decode()
    assert "factor.verified" in html and "500" in html and "42" in html
    assert "x" * 100 not in html  # the body is truncated in the list
    assert (
        operator.get("/admin/services/webhookdelivery/?status__exact=succeeded")
        .context["cl"]
        .result_count
        == 0
    )
    for path in (
        "/admin/services/webhook/",
        f"/admin/services/webhook/{webhook.sid}/change/",
        "/admin/services/webhookdelivery/",
    ):
        body = operator.get(path).content.decode()
        assert secret not in body
        assert crypto.decrypt(Webhook.objects.get().secret_encrypted) == secret
        assert "secret_encrypted" not in body


def test_replay_action_requeues_a_finished_delivery(operator, service):
    make_webhook(service, URL)
    event = record(service, "factor.verified", sids.factor_sid(), factor_verified_payload())
    row = WebhookDelivery.objects.get(event=event)
    WebhookDelivery.objects.filter(pk=row.pk).update(status="failed", date_completed=timezone.now())
    resp = operator.post(
        "/admin/services/webhookdelivery/",
        {"action": "replay", "_selected_action": [row.pk]},
        follow=True,
    )
    assert resp.status_code == 200
    row.refresh_from_db()
    assert row.status == "pending" and row.date_completed is None


def test_reenable_action_clears_the_auto_disabled_flag(operator, service):
    webhook, _ = make_webhook(service, URL)
    Webhook.objects.filter(pk=webhook.pk).update(
        status="disabled", auto_disabled=True, failure_streak=40, disabled_reason="streak"
    )
    listing = operator.get("/admin/services/webhook/?auto_disabled__exact=1")
    assert listing.context["cl"].result_count == 1
    operator.post(
        "/admin/services/webhook/", {"action": "reenable", "_selected_action": [webhook.sid]}
    )
    webhook.refresh_from_db()
    assert webhook.status == "enabled" and not webhook.auto_disabled
    assert webhook.failure_streak == 0
