"""Service Rate Limits and send budgets enforced on Verification create: a refused start is a
429 (or 503 without Redis) before anything is written, and the adapter is never called."""

from __future__ import annotations

import pytest

from challenges.models import DeliveryAttempt, Verification
from limits import domain
from services import domain as service_domain
from tests.challenges.conftest import MOBILE
from tests.helpers import assert_twilio_error
from tests.limits.conftest import check, mobile, run_due, sent_count, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def ip_limit(service):
    rate_limit = domain.rate_limit_create(service=service, unique_name="end_user_ip")
    domain.bucket_create(rate_limit=rate_limit, max=2, interval=3600)
    return rate_limit


def _retry_after(response) -> int:
    value = int(response["Retry-After"])
    assert value >= 1
    return value


def test_bucket_refuses_the_third_start_for_one_value(api, service, ip_limit):
    for index in range(2):
        response = start(api, service, mobile(index), {"end_user_ip": "203.0.113.7"})
        assert response.status_code == 201, response.content
    refused = start(api, service, mobile(2), {"end_user_ip": "203.0.113.7"})
    assert_twilio_error(refused, 429, 60203)
    assert _retry_after(refused) <= 3600
    assert not Verification.objects.filter(to=mobile(2)).exists()
    assert sent_count() == 2
    # Another value has its own counter; a start without RateLimits is not metered by it.
    assert start(api, service, mobile(3), {"end_user_ip": "198.51.100.1"}).status_code == 201
    assert start(api, service, mobile(4)).status_code == 201
    assert sent_count() == 4


def test_every_bucket_of_every_named_limit_counts(api, service, ip_limit):
    session = domain.rate_limit_create(service=service, unique_name="session")
    domain.bucket_create(rate_limit=session, max=1, interval=600)
    domain.bucket_create(rate_limit=session, max=5, interval=86400)
    limits = {"end_user_ip": "192.0.2.1", "session": "abc"}
    assert start(api, service, mobile(0), limits).status_code == 201
    refused = start(api, service, mobile(1), limits)
    assert_twilio_error(refused, 429, 60203)
    assert sent_count() == 1


def test_resends_count_too(api, service, ip_limit):
    for _ in range(2):
        assert start(api, service, MOBILE, {"end_user_ip": "192.0.2.9"}).status_code == 201
    assert_twilio_error(start(api, service, MOBILE, {"end_user_ip": "192.0.2.9"}), 429, 60203)
    assert Verification.objects.get().send_count == 2
    assert sent_count() == 2


def test_rate_limits_of_another_service_are_unknown(api, tenant, service, ip_limit):
    other = service_domain.service_create(account=tenant.account, friendly_name="Other")
    response = start(api, other, MOBILE, {"end_user_ip": "192.0.2.1"})
    body = assert_twilio_error(response, 400, 60200)
    assert "RateLimits" in body["message"]
    assert not Verification.objects.exists()


@pytest.mark.parametrize(
    "raw",
    ["not json", "[1, 2]", '{"end_user_ip": null}', '{"end_user_ip": {"a": 1}}', '{"x": "1"}'],
)
def test_bad_rate_limits_parameter_is_400(api, service, ip_limit, raw):
    from tests.helpers import form

    response = form(
        api,
        f"/v2/Services/{service.sid}/Verifications",
        {"To": MOBILE, "Channel": "sms", "RateLimits": raw},
    )
    body = assert_twilio_error(response, 400, 60200)
    assert "RateLimits" in body["message"]
    assert not DeliveryAttempt.objects.exists()


def test_value_longer_than_256_is_400(api, service, ip_limit):
    response = start(api, service, MOBILE, {"end_user_ip": "x" * 257})
    assert_twilio_error(response, 400, 60200)


def test_numeric_values_are_metered_as_strings(api, service, ip_limit):
    assert start(api, service, mobile(0), {"end_user_ip": 42}).status_code == 201
    assert start(api, service, mobile(1), {"end_user_ip": "42"}).status_code == 201
    assert_twilio_error(start(api, service, mobile(2), {"end_user_ip": 42}), 429, 60203)


# --- send budgets (SMS pumping) --------------------------------------------------------------


def _budgets(settings, **caps) -> None:
    settings.VERIFY_SEND_BUDGETS = {
        "ACCOUNT_PER_MINUTE": 0,
        "ACCOUNT_PER_HOUR": 0,
        "SERVICE_PER_MINUTE": 0,
        "SERVICE_PER_HOUR": 0,
        **caps,
    }


def test_pumping_burst_stops_at_the_account_budget(api, service, settings):
    _budgets(settings, ACCOUNT_PER_MINUTE=5)
    statuses, sent = [], []
    for index in range(12):  # bounded: a burst to sequential numbers in one prefix
        response = start(api, service, mobile(index))
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert_twilio_error(response, 429, 20429)
            assert 1 <= _retry_after(response) <= 60
        sent.append(sent_count())
    assert statuses == [201] * 5 + [429] * 7
    assert sent == [1, 2, 3, 4, 5] + [5] * 7  # the adapter's call count stops at the cap
    assert Verification.objects.count() == 5


def test_hourly_budget_applies_as_well(api, service, settings):
    _budgets(settings, ACCOUNT_PER_MINUTE=100, ACCOUNT_PER_HOUR=3)
    assert [start(api, service, mobile(i)).status_code for i in range(5)] == [201] * 3 + [429] * 2
    assert sent_count() == 3


def test_service_budget_is_per_service_and_account_budget_spans_them(
    api, tenant, service, settings
):
    _budgets(settings, SERVICE_PER_MINUTE=3, ACCOUNT_PER_MINUTE=5)
    other = service_domain.service_create(account=tenant.account, friendly_name="Second")
    first = [start(api, service, mobile(i)).status_code for i in range(4)]
    assert first == [201, 201, 201, 429]
    second = [start(api, other, mobile(10 + i)).status_code for i in range(3)]
    # The account's 5 are used by 3 + 2; the refused fourth start on the first service
    # counted against the account as well.
    assert second == [201, 429, 429]
    assert sent_count() == 4


def test_one_tenants_budget_does_not_touch_another(api, other_api, service, other_tenant, settings):
    _budgets(settings, ACCOUNT_PER_MINUTE=2)
    theirs = service_domain.service_create(account=other_tenant.account, friendly_name="B")
    assert [start(api, service, mobile(i)).status_code for i in range(3)] == [201, 201, 429]
    assert start(other_api, theirs, mobile(5)).status_code == 201


# --- Redis down: fail closed -----------------------------------------------------------------


def test_redis_down_refuses_starts_with_503_and_sends_nothing(api, service, redis_down):
    response = start(api, service, MOBILE)
    assert_twilio_error(response, 503, 20503)
    assert _retry_after(response) >= 1
    assert not Verification.objects.exists() and not DeliveryAttempt.objects.exists()
    assert sent_count() == 0


def test_redis_down_refuses_rate_limited_starts_even_without_budgets(
    api, service, ip_limit, redis_down, no_budgets
):
    response = start(api, service, MOBILE, {"end_user_ip": "192.0.2.1"})
    assert_twilio_error(response, 503, 20503)
    assert sent_count() == 0
    # Nothing to meter: no counter is needed, so the start goes through.
    assert start(api, service, MOBILE).status_code == 201
    assert sent_count() == 1


def test_checks_do_not_need_redis(api, service, settings, dead_redis_url, locmem_channels):
    assert start(api, service, MOBILE).status_code == 201
    run_due()
    [message] = locmem_channels.outbox
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": dead_redis_url,
        }
    }
    response = check(api, service, MOBILE, message.code)
    assert response.status_code == 201 and response.json()["status"] == "approved"


def test_locmem_cache_meters_in_process(api, service, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}
    }
    _budgets(settings, SERVICE_PER_MINUTE=2)
    assert [start(api, service, mobile(i)).status_code for i in range(3)] == [201, 201, 429]
