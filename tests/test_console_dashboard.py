"""The operator console's home: the dashboard's aggregates and charts, the branding, the page
at `/`, the webhook page's test event and the Fallback steps form (server side; the browser
test, tests/test_console_browser.py, drives the same pages in Chromium)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from standardwebhooks.webhooks import Webhook as StandardWebhook
from twilio.request_validator import RequestValidator

from challenges import insights
from challenges.models import DeliveryAttempt, Verification
from entities.models import Entity
from factors.models import Factor
from limits.models import DestinationThrottle
from services import domain
from services.models import Event, Service, Webhook, WebhookDelivery
from services.webhooks import delivery as delivery_domain
from services.webhooks import domain as webhook_domain
from services.webhooks.enqueue import WEBHOOK_DELIVER
from tests.plans import analyze, explain, nodes, seed_history
from tests.webhooks.conftest import Receiver, make_webhook
from verify_platform import dashboard
from verify_platform.lib import clock

# (days ago, channel, destination, status, seconds from start to provider accepted)
VERIFICATIONS = (
    (0, "sms", "+447911123456", "approved", 1.5),
    (0, "sms", "+447911123457", "pending", 2.0),
    (0, "whatsapp", "+14155550100", "approved", 0.8),
    (2, "sms", "+14155550101", "expired", 3.0),
    (2, "call", "+4915112345678", "approved", 5.0),
    (5, "whatsapp", "+4915112345679", "canceled", 1.0),
    (5, "email", "user@example.com", "approved", 0.5),
)
SEEDED_DAYS = 3
SEEDED_CHANNELS = {"sms": (3, 1), "whatsapp": (2, 1), "call": (1, 1), "email": (1, 1)}
SEEDED_COUNTRIES = {"GB": (2, 1), "US": (2, 1), "DE": (2, 1), "email": (1, 1)}
THROTTLED_TO = "+447700900123"


@dataclass
class Seeded:
    service: Service
    webhook: Webhook
    throttle: DestinationThrottle
    factor: Factor


def seed(account) -> Seeded:
    """Verifications over several days, channels and countries with their delivery attempts
    (two fell back a step), a failing webhook, a blocked destination and a locked factor."""
    now = clock.current_time()
    service = domain.service_create(account=account, friendly_name="Console Demo")
    for days_ago, channel, to, status, latency in VERIFICATIONS:
        created = now - timedelta(days=days_ago, minutes=5)
        verification = Verification.objects.create(
            service=service,
            to=to,
            channel=channel,
            status=status,
            code_hash="0" * 64,
            code_salt="0" * 32,
            plan=[{"channel": channel}],
            expires_at=created + timedelta(minutes=10),
        )
        Verification.objects.filter(pk=verification.pk).update(date_created=created)
        steps = {"+447911123457": ["sms", "whatsapp"], "+14155550101": ["sms", "call", "call"]}
        for step, step_channel in enumerate(steps.get(to, [channel])):
            fired = step < 2
            start = created + timedelta(seconds=30 * step)
            attempt = DeliveryAttempt.objects.create(
                verification=verification,
                step=step,
                channel=step_channel,
                status="sent" if fired else "canceled",
                due_at=start,
                deadline=start + timedelta(seconds=60),
                date_sent=start + timedelta(seconds=latency) if fired else None,
            )
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(date_created=start)
    webhook, _ = make_webhook(service, "https://backend.example.com/hook")
    Webhook.objects.filter(pk=webhook.pk).update(
        failure_streak=4, failing_since=now - timedelta(hours=2)
    )
    throttle = DestinationThrottle.objects.create(
        account=account,
        service=service,
        to=THROTTLED_TO,
        status="blocked",
        consecutive_failures=100,
        date_blocked=now - timedelta(minutes=3),
    )
    entity = Entity.objects.create(service=service, identity="ff483d1f-f3a5-4a3a-b5c7")
    factor = Factor.objects.create(
        service=service,
        entity=entity,
        factor_type="totp",
        status="verified",
        friendly_name="Phone app",
        consecutive_failures=100,
        locked=True,
    )
    return Seeded(service, webhook, throttle, factor)


@pytest.fixture
def hook_receiver():
    """A tenant's endpoint on loopback (tests/webhooks/conftest.py)."""
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def queued(monkeypatch):
    """The delivery ids each enqueue would hand to the broker, recorded instead."""
    calls: list[list[int]] = []

    def send_task(name, args, eta=None, **options):
        assert name == WEBHOOK_DELIVER
        calls.append(args[0])

    monkeypatch.setattr("services.webhooks.enqueue.current_app.send_task", send_task)
    return calls


@pytest.fixture
def operator(client, db):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", None)
    client.force_login(user)
    return client


def marks(html: str, chart_id: str, tag: str = "rect", css: str = "bar") -> list[dict[str, str]]:
    """The data marks one chart drew: their data-* attributes."""
    svg = re.search(rf'<svg id="{chart_id}".*?</svg>', html, re.S)
    assert svg, f"no chart {chart_id}"
    found = re.findall(rf'<{tag} class="{css}[^"]*"([^>]*)>', svg.group(0))
    return [dict(re.findall(r'data-([a-z]+)="([^"]*)"', attrs)) for attrs in found]


@pytest.mark.django_db
def test_the_aggregates_group_by_day_channel_and_country(tenant):
    seed(tenant.account)
    now = clock.current_time()
    report = insights.verification_volume(since=now - timedelta(days=30), until=now)
    assert len(report.by_day) == SEEDED_DAYS
    assert {v.key: (v.started, v.converted) for v in report.by_channel} == SEEDED_CHANNELS
    assert {v.key: (v.started, v.converted) for v in report.by_country} == SEEDED_COUNTRIES
    steps = insights.fallback_steps(since=now - timedelta(days=30), until=now)
    fired = {(s.step, s.channel): s.fired for s in steps}
    assert fired[(1, "whatsapp")] == 1 and fired[(1, "call")] == 1 and fired[(2, "call")] == 0
    latency = {
        lat.channel: lat
        for lat in insights.delivery_latency(since=now - timedelta(days=30), until=now)
    }
    assert latency["call"].p50 == pytest.approx(5.0)
    assert latency["sms"].sends == 3 and latency["sms"].p50 == pytest.approx(2.0)
    # The one-day window leaves out the older days.
    assert len(insights.verification_volume(since=now - timedelta(hours=1), until=now).by_day) == 1


@pytest.mark.django_db
def test_the_aggregates_read_their_window_through_an_index(tenant):
    """On a year of history, PostgreSQL's own plan for a day's aggregates reads that day
    through the `date_created` indexes, never a scan of either table."""
    now = clock.current_time()
    service = domain.service_create(account=tenant.account, friendly_name="History")
    seed_history(service.sid, end=now, days=365, count=36_500)
    analyze()
    window = {"since": now - timedelta(days=1), "until": now}
    for statement, wanted in (
        (insights._VOLUME, {"verification_unmasked", "verification_masked"}),
        (insights._STEPS, {"attempt_created"}),
        (insights._LATENCY, {"attempt_created"}),
    ):
        plan = explain(statement, window)
        read = list(nodes(plan))
        assert not [n for n in read if n["Node Type"] == "Seq Scan"], plan
        assert wanted <= {n.get("Index Name") for n in read}, plan


def test_country_of_places_north_american_area_codes_and_redacted_numbers():
    assert insights.country_of("+1416", "+14165550100") == "CA"
    assert insights.country_of("+1415", "+14155550100") == "US"
    assert insights.country_of("+4479", "+447911123456") == "GB"  # not Guernsey's GG
    assert insights.country_of("+7701", "+77011234567") == "KZ"
    assert insights.country_of("+4***", "+4*********56") == "unknown"
    assert insights.country_of("+49**", "+49*******678") == "DE"
    assert insights.country_of("", "user@example.com") == "email"


@pytest.mark.django_db
def test_the_dashboard_draws_every_chart_and_lists_what_is_stuck(operator, tenant):
    seeded = seed(tenant.account)
    page = operator.get("/admin/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<title>Dashboard | Verify Platform</title>" in html
    assert "Django administration" not in html

    days = marks(html, "chart-by-day")
    started = [m for m in days if m["series"] == "started"]
    assert len(started) == dashboard.DEFAULT_DAYS
    assert sum(1 for m in started if m["value"] != "0") == SEEDED_DAYS
    assert len(marks(html, "chart-by-day", "circle", "point")) == SEEDED_DAYS
    channels = {
        m["label"]: m["value"] for m in marks(html, "chart-by-channel") if m["series"] == "started"
    }
    assert channels == {c: str(s) for c, (s, _) in SEEDED_CHANNELS.items()}
    countries = {m["label"] for m in marks(html, "chart-by-country")}
    assert countries == set(SEEDED_COUNTRIES)
    fallback = {m["label"]: m["value"] for m in marks(html, "chart-fallback")}
    assert fallback == {"step 1": str(2 / 7 * 100), "step 2": "0.0"}
    latency = marks(html, "chart-latency")
    assert {m["label"] for m in latency} == set(SEEDED_CHANNELS)
    assert len(latency) == 3 * len(SEEDED_CHANNELS)  # p50, p90, p99
    for chart in ("by-day", "by-channel", "by-country", "fallback", "latency"):
        assert f'aria-labelledby="chart-{chart}-title chart-{chart}-desc"' in html

    assert seeded.webhook.sid in html
    assert THROTTLED_TO in html and seeded.factor.sid in html
    assert "Failing webhooks (1)" in html
    assert "Throttled or blocked destinations (1)" in html
    assert "Locked or throttled factors (1)" in html


@pytest.mark.django_db
def test_a_panel_that_times_out_is_reported_not_raised(operator, tenant, monkeypatch):
    seed(tenant.account)
    monkeypatch.setattr(dashboard, "DASHBOARD_STATEMENT_TIMEOUT_MS", 1)

    def slow(**_):

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.05)")

    monkeypatch.setattr(insights, "delivery_latency", slow)
    html = operator.get("/admin/").content.decode()
    assert "Not computed" in html
    assert 'id="chart-by-channel"' in html  # the other panels still drawn


@pytest.mark.django_db
def test_staff_without_view_permissions_see_no_numbers(client):
    user = get_user_model().objects.create_user("viewer", password=None, is_staff=True)
    client.force_login(user)
    html = client.get("/admin/").content.decode()
    assert 'class="chart"' not in html and "Failing webhooks" not in html


def test_home_page_links_docs_console_and_probes(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    for href in (
        'href="/docs"',
        'href="/openapi.json"',
        'href="/admin/"',
        'href="/healthz"',
        'href="/readyz"',
    ):
        assert href in html
    assert "<h1>Verify Platform</h1>" in html


@pytest.mark.django_db
def test_view_site_goes_home_and_lists_are_newest_first_to_the_second(operator, tenant):
    seeded = seed(tenant.account)
    html = operator.get("/admin/challenges/verification/").content.decode()
    assert '<a href="/">View site</a>' in html
    times = re.findall(
        r'<time datetime="[^"]+"><span>(\d{4}-\d\d-\d\d)</span> <span>(\d\d:\d\d:\d\d)</span>',
        html,
    )
    assert len(times) == len(VERIFICATIONS)
    assert times == sorted(times, reverse=True)
    Event.objects.create(
        account=tenant.account, service=seeded.service, type="x.old", resource_sid="RS1"
    )
    Event.objects.create(
        account=tenant.account, service=seeded.service, type="x.new", resource_sid="RS2"
    )
    events = operator.get("/admin/services/event/").content.decode()
    assert events.index("x.new") < events.index("x.old")


@pytest.mark.django_db
def test_webhook_page_lists_recent_deliveries_and_sends_a_test_event(
    operator, tenant, queued, django_capture_on_commit_callbacks
):
    seeded = seed(tenant.account)
    page = f"/admin/services/webhook/{seeded.webhook.sid}/change/"
    html = operator.get(page).content.decode()
    assert "Send a test event" in html and "None yet." in html
    assert operator.get(f"{page[: -len('change/')]}send-test-event/").status_code == 405

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(f"{page[: -len('change/')]}send-test-event/", follow=True)
    delivery = WebhookDelivery.objects.get(webhook=seeded.webhook)
    assert delivery.event.type == webhook_domain.TEST_EVENT_TYPE
    assert delivery.status == "pending"
    html = response.content.decode()
    assert f"queued as delivery {delivery.pk}" in html
    assert (
        f'<tr class="delivery"><td><a href="/admin/services/webhookdelivery/{delivery.pk}/change/">'
        in html
    )
    assert queued == [[delivery.pk]]  # handed to the worker after commit

    Webhook.objects.filter(pk=seeded.webhook.pk).update(status="disabled")
    response = operator.post(f"{page[: -len('change/')]}send-test-event/", follow=True)
    assert "enable it first" in response.content.decode()
    assert WebhookDelivery.objects.filter(webhook=seeded.webhook).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_test_event_is_delivered_signed_like_any_event(tenant, service, hook_receiver):
    webhook, secret = make_webhook(service, hook_receiver.url, event_types=["factor.verified"])
    test_delivery = webhook_domain.webhook_send_test(webhook=webhook)
    settings = {"ALLOW_PRIVATE_ADDRESSES": True, "CONNECT_TIMEOUT": 1.0, "READ_TIMEOUT": 1.0}
    with override_settings(VERIFY_WEBHOOKS=settings):
        assert delivery_domain.delivery_attempt(delivery_id=test_delivery.pk) == "succeeded"
    [got] = hook_receiver.wait_for(1)
    params = dict(parse_qsl(got.body))
    assert params["type"] == "webhook.test" and params["uuid"] == test_delivery.event_id
    assert params["webhook_sid"] == webhook.sid
    validator = RequestValidator(tenant.auth_token)
    assert validator.validate(hook_receiver.url, params, got.headers["x-twilio-signature"])
    StandardWebhook(secret).verify(got.body, got.headers, json_parse=False)


FALLBACK_FORM = {
    "friendly_name": "Console Demo",
    "code_length": "6",
    "dtmf_input_required": "on",
    "totp_time_step": "30",
    "totp_code_length": "6",
    "totp_skew": "1",
    # The page's inline of Messaging Services per country, left empty.
    "messaging_configurations-TOTAL_FORMS": "0",
    "messaging_configurations-INITIAL_FORMS": "0",
}


@pytest.mark.django_db
def test_fallback_plan_is_edited_as_steps_with_the_api_rules(operator, tenant):
    service = domain.service_create(account=tenant.account, friendly_name="Console Demo")
    page = f"/admin/services/service/{service.sid}/change/"
    html = operator.get(page).content.decode()
    assert 'name="fallback-0-channel"' in html and 'name="fallback-4-timeout"' in html
    assert '<textarea name="fallback"' not in html

    steps = {
        "fallback-0-channel": "whatsapp",
        "fallback-0-timeout": "30",
        "fallback-1-channel": "",  # a cleared row is no step
        "fallback-2-channel": "sms",
        "fallback-2-timeout": "60",
        "fallback-3-channel": "call",
    }
    response = operator.post(page, {**FALLBACK_FORM, **steps})
    assert response.status_code == 302, response.content.decode()[:2000]
    service.refresh_from_db()
    assert service.fallback == [
        {"channel": "whatsapp", "timeout": 30},
        {"channel": "sms", "timeout": 60},
        {"channel": "call"},
    ]
    html = operator.get(page).content.decode()
    assert '<option value="whatsapp" selected>' in html and 'value="30"' in html

    # The API's rules: a step before the last needs a timeout, timeouts 5..600, known channels.
    for bad, message in (
        ({"fallback-0-channel": "sms", "fallback-1-channel": "call"}, "step 1 needs a timeout"),
        ({"fallback-0-channel": "sms", "fallback-0-timeout": "1"}, "timeouts are whole seconds"),
        ({"fallback-0-channel": "fax"}, "unknown channel in step 1"),
        ({"fallback-0-channel": "sms", "fallback-0-timeout": "ten"}, "whole seconds"),
    ):
        response = operator.post(page, {**FALLBACK_FORM, **bad})
        assert response.status_code == 200 and message in response.content.decode(), bad
    service.refresh_from_db()
    assert len(service.fallback) == 3

    operator.post(page, {**FALLBACK_FORM, "fallback-0-channel": ""})
    service.refresh_from_db()
    assert service.fallback == []
