"""With nothing to meter (no RateLimits named, every send budget off), a start judges the
destination gate inside its insert: the same answers as the separate read, one round trip
less."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from challenges.models import DeliveryAttempt, Verification
from limits import domain
from limits.models import DestinationThrottle
from tests.challenges.conftest import MOBILE, OTHER_MOBILE
from tests.helpers import assert_twilio_error
from tests.limits.conftest import start

pytestmark = pytest.mark.django_db

OFF = {
    "ACCOUNT_PER_MINUTE": 0,
    "ACCOUNT_PER_HOUR": 0,
    "SERVICE_PER_MINUTE": 0,
    "SERVICE_PER_HOUR": 0,
}


@pytest.fixture
def unmetered(settings):
    settings.VERIFY_SEND_BUDGETS = OFF
    assert not domain.sends_metered(rate_limits=None)


def _throttle(service, **fields) -> DestinationThrottle:
    return DestinationThrottle.objects.create(
        account_id=service.account_id, service=service, to=MOBILE, **fields
    )


def test_metering_is_off_only_without_rate_limits_and_budgets(settings):
    settings.VERIFY_SEND_BUDGETS = {**OFF, "SERVICE_PER_HOUR": 10}
    assert domain.sends_metered(rate_limits=None)
    settings.VERIFY_SEND_BUDGETS = OFF
    assert domain.sends_metered(rate_limits={"end_user_ip": "203.0.113.7"})
    assert not domain.sends_metered(rate_limits={})


def test_an_unmetered_create_is_three_statements(
    api, service, unmetered, django_assert_max_num_queries
):
    """Authentication, the service, and the insert that also judges the gate."""
    with django_assert_max_num_queries(3):
        resp = start(api, service, MOBILE)
    assert resp.status_code == 201, resp.content
    assert DeliveryAttempt.objects.filter(verification_id=resp.json()["sid"]).count() == 1


def test_a_waiting_destination_is_refused_and_nothing_is_written(api, service, unmetered):
    _throttle(
        service, consecutive_failures=12, next_attempt_at=timezone.now() + timedelta(seconds=60)
    )
    refused = start(api, service, MOBILE)
    assert_twilio_error(refused, 429, 60202)
    assert int(refused["Retry-After"]) >= 1
    assert not Verification.objects.exists() and not DeliveryAttempt.objects.exists()
    assert start(api, service, OTHER_MOBILE).status_code == 201


def test_a_blocked_destination_is_refused_and_nothing_is_written(api, service, unmetered):
    _throttle(service, consecutive_failures=100, status=DestinationThrottle.Status.BLOCKED)
    refused = start(api, service, MOBILE)
    assert_twilio_error(refused, 429, 60202)
    assert "Retry-After" not in refused
    assert not Verification.objects.exists()


def test_a_destination_whose_wait_is_over_gets_its_verification(api, service, unmetered):
    _throttle(
        service, consecutive_failures=12, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert start(api, service, MOBILE).status_code == 201
    assert Verification.objects.filter(to=MOBILE, status="pending").count() == 1
