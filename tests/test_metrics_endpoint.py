"""`/metrics` in-process: Prometheus' text format (parsed by prometheus_client's own parser),
who may read it, request metrics by route pattern, and domain counters that count only what
committed."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import resolve
from prometheus_client.parser import text_string_to_metric_families

from services import domain as services_domain

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    """The sum over samples of `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= set(ls))


def scrape(client: Client | None = None, **extra) -> dict:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return samples(response.content.decode())


@pytest.fixture(autouse=True)
def _metrics_settings(settings):
    settings.VERIFY_METRICS = {
        **settings.VERIFY_METRICS,
        "ALLOWED_NETWORKS": ["127.0.0.0/8", "::1/128"],
        "TOKEN": TOKEN,
    }


def test_the_exposition_parses_and_names_every_platform_metric():
    found = scrape()
    names = {name for name, _ in found}
    text = Client().get("/metrics").content.decode()
    families = {f.name for f in text_string_to_metric_families(text)}
    for family in (
        "verify_http_request_duration_seconds",
        "verify_verifications_started",
        "verify_webhook_backlog",
        "verify_webhook_backlog_oldest_seconds",
    ):
        assert family in families
    assert ("verify_webhook_backlog", ()) in found
    assert names  # samples, not only HELP lines


def test_requests_are_counted_by_route_pattern_never_the_raw_path(api, service):
    for sid in ("VA" + "0" * 32, "VA" + "1" * 32):
        api.get(f"/v2/Services/{sid}")
    api.get(f"/v2/Services/{service.sid}")
    found = scrape()
    routes = {dict(ls).get("route") for n, ls in found if n.startswith("verify_http_request")}
    assert not any(sid in (r or "") for r in routes for sid in ("0" * 32, service.sid))
    route = resolve(f"/v2/Services/{service.sid}").route
    assert route in routes and route.startswith("v2/Services/<")
    assert value(found, "verify_http_request_duration_seconds_count", route=route) >= 3
    assert (
        value(found, "verify_http_request_duration_seconds_count", route=route, status="404") >= 2
    )
    assert (
        value(found, "verify_http_request_duration_seconds_count", route=route, status="200") >= 1
    )


def test_a_method_outside_http_s_usual_set_is_one_label():
    client = Client()
    for method in ("FOO", "BAR"):
        client.generic(method, "/v2/Services")
    methods = {dict(ls).get("method") for n, ls in scrape() if n.startswith("verify_http")}
    assert "other" in methods and not {"FOO", "BAR"} & methods


def test_a_loopback_client_reads_it_without_a_token():
    assert scrape(REMOTE_ADDR="127.0.0.1")
    assert scrape(REMOTE_ADDR="::1")


def test_a_configured_network_reads_it(settings):
    settings.VERIFY_METRICS = {**settings.VERIFY_METRICS, "ALLOWED_NETWORKS": ["10.1.0.0/16"]}
    assert scrape(REMOTE_ADDR="10.1.2.3")
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_the_bearer_token_opens_it_from_anywhere():
    assert scrape(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong-token"},
        {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
        {"HTTP_X_FORWARDED_FOR": "127.0.0.1"},  # no trusted proxy: the header means nothing
    ],
)
def test_anyone_else_gets_the_ordinary_twilio_shaped_404(extra):
    response = Client().get("/metrics", REMOTE_ADDR="203.0.113.9", **extra)
    unknown = Client().get("/v2/Nothing", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == unknown.status_code == 404
    assert response.json() == {
        "code": 20404,
        "message": "The requested resource /metrics was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    assert response["Content-Type"] == unknown["Content-Type"]
    assert response.json().keys() == unknown.json().keys()


def test_no_token_is_accepted_when_none_is_configured(settings):
    settings.VERIFY_METRICS = {**settings.VERIFY_METRICS, "TOKEN": ""}
    response = Client().get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 404


def test_an_allowed_client_posting_gets_405():
    assert Client().post("/metrics").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_a_verification_start_counts_by_channel_and_country(tenant):
    service = services_domain.service_create(account=tenant.account, friendly_name="M")
    from challenges import domain

    before = scrape()
    domain.verification_start(service=service, to="+447400123456", channel="sms")
    domain.verification_start(service=service, to="+447400123456", channel="sms")  # a resend
    after = scrape()
    labels = {"channel": "sms", "country": "GB"}
    started = "verify_verifications_started_total"
    assert value(after, started, **labels) - value(before, started, **labels) == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_cancel_is_not_counted(tenant):
    service = services_domain.service_create(account=tenant.account, friendly_name="M")
    from challenges import domain

    verification = domain.verification_start(service=service, to="+33612345678", channel="sms")
    before = scrape()
    with pytest.raises(RuntimeError), transaction.atomic():
        domain.verification_cancel(verification=verification)
        raise RuntimeError("rolled back")
    ended = "verify_verifications_ended_total"
    assert value(scrape(), ended, country="FR") == value(before, ended, country="FR")


@pytest.mark.django_db(transaction=True)
def test_a_cancel_counts_once_committed(tenant):
    service = services_domain.service_create(account=tenant.account, friendly_name="M")
    from challenges import domain

    verification = domain.verification_start(service=service, to="+14155550100", channel="sms")
    before = scrape()
    domain.verification_cancel(verification=verification)
    ended = "verify_verifications_ended_total"
    labels = {"status": "canceled", "channel": "sms", "country": "US"}
    assert value(scrape(), ended, **labels) - value(before, ended, **labels) == 1


@pytest.mark.django_db(transaction=True)
def test_refusals_are_counted_by_reason(tenant, settings):
    from challenges import domain
    from limits.errors import DestinationCountryBlocked

    settings.VERIFY_ALLOWED_COUNTRIES = ["GB"]
    service = services_domain.service_create(account=tenant.account, friendly_name="M")
    before = scrape()
    with pytest.raises(DestinationCountryBlocked):
        domain.verification_start(service=service, to="+33612345678", channel="sms")
    refused = "verify_requests_refused_total"
    assert (
        value(scrape(), refused, reason="country_blocked")
        - value(before, refused, reason="country_blocked")
        == 1
    )


def test_the_webhook_backlog_counts_due_deliveries(tenant):
    from services.models import Event, Webhook, WebhookDelivery
    from verify_platform.lib.clock import current_time

    service = services_domain.service_create(account=tenant.account, friendly_name="M")
    assert value(scrape(), "verify_webhook_backlog") == 0
    webhook = Webhook.objects.create(
        account=tenant.account,
        service=service,
        friendly_name="hook",
        webhook_url="https://example.com/hook",
        event_types=["*"],
    )
    now = current_time()
    event = Event.objects.create(
        account=tenant.account, service=service, type="verification.approved", resource_sid="VE1"
    )
    WebhookDelivery.objects.create(
        webhook=webhook, event=event, resource_sid="VE1", next_attempt_at=now, window_started_at=now
    )
    found = scrape()
    assert value(found, "verify_webhook_backlog") == 1
    assert value(found, "verify_webhook_backlog_oldest_seconds") >= 0
