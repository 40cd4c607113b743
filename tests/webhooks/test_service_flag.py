"""`Service.has_enabled_webhooks` spares every event write the webhook lookup when a service
has no enabled webhook, and is never False beside an enabled one."""

from __future__ import annotations

from services.models import Service
from services.webhooks import domain
from tests.webhooks.conftest import make_webhook, record
from verify_platform.lib import sids

URL = "https://backend.example.com/hook"


def flag(service) -> bool:
    return Service.objects.values_list("has_enabled_webhooks", flat=True).get(pk=service.pk)


def test_an_event_of_a_service_without_webhooks_is_one_insert(service, django_assert_num_queries):
    assert flag(service) is False
    # SAVEPOINT/RELEASE of the atomic block around it, and the INSERT: no webhook lookup.
    with django_assert_num_queries(3):
        record(service, "factor.created", sids.factor_sid(), {})


def test_the_flag_follows_create_disable_enable_and_delete(service):
    first, _ = make_webhook(service, URL)
    second, _ = make_webhook(service, URL)
    assert flag(service) is True
    assert domain.webhook_disable(webhook=first)
    assert flag(service) is True  # the second is still enabled
    assert domain.webhook_disable(webhook=second)
    assert flag(service) is False
    assert domain.webhook_enable(webhook=second)
    assert flag(service) is True
    domain.webhook_delete(webhook=second)
    assert flag(service) is False


def test_a_webhook_created_disabled_sets_nothing(service):
    make_webhook(service, URL, status="disabled")
    assert flag(service) is False


def test_events_reach_a_webhook_enabled_after_the_service_was_loaded(service):
    hook, _ = make_webhook(service, URL, status="disabled")
    assert domain.webhook_enable(webhook=hook)
    fresh = Service.objects.get(pk=service.pk)
    event = record(fresh, "factor.created", sids.factor_sid(), {})
    assert list(event.deliveries.values_list("webhook_id", flat=True)) == [hook.pk]
