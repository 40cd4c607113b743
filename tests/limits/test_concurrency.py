"""The failure streak counts exactly under concurrency: threads released together by a
barrier, one PostgreSQL connection each."""

from __future__ import annotations

from collections import Counter

import pytest

from limits import domain
from limits.models import DestinationThrottle, RateLimit
from tests.challenges.conftest import MOBILE
from tests.challenges.test_verification_concurrency import race
from tests.conftest import api_client
from tests.helpers import form
from tests.limits.conftest import check, mobile, run_due, sent_count, start

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_first_failures_count_exactly(service):
    race(20, lambda _: domain.destination_failure_record(service=service, to=MOBILE))
    throttle = DestinationThrottle.objects.get(service=service, to=MOBILE)
    assert throttle.consecutive_failures == 20


def test_concurrent_failures_across_the_block_threshold(service):
    DestinationThrottle.objects.create(
        account_id=service.account_id, service=service, to=MOBILE, consecutive_failures=90
    )
    race(20, lambda _: domain.destination_failure_record(service=service, to=MOBILE))
    throttle = DestinationThrottle.objects.get(service=service, to=MOBILE)
    assert throttle.consecutive_failures == 110
    assert throttle.status == "blocked" and throttle.date_blocked is not None


def test_concurrent_wrong_checks_count_once_each(tenant, service, locmem_channels):
    assert start(api_client(tenant), service, MOBILE).status_code == 201
    run_due()
    [message] = locmem_channels.outbox
    wrong = "000000" if message.code != "000000" else "111111"

    def guess(_):
        return check(api_client(tenant), service, MOBILE, wrong).status_code

    results = race(20, guess)
    assert Counter(results) == {201: 5, 429: 15}
    # Only the guesses that were compared count against the destination.
    assert DestinationThrottle.objects.get(service=service, to=MOBILE).consecutive_failures == 5


def test_concurrent_starts_never_pass_the_send_budget(tenant, service, settings):
    settings.VERIFY_SEND_BUDGETS = {"ACCOUNT_PER_MINUTE": 4, "SERVICE_PER_MINUTE": 0}

    def create(index):
        return start(api_client(tenant), service, mobile(index)).status_code

    results = race(10, create)
    assert Counter(results) == {201: 4, 429: 6}
    assert sent_count() == 4


def test_concurrent_rate_limit_creates_respect_the_cap_and_unique_names(tenant, service, settings):
    settings.VERIFY_RATE_LIMITS = {"MAX_PER_SERVICE": 3, "MAX_BUCKETS_PER_RATE_LIMIT": 5}
    path = f"/v2/Services/{service.sid}/RateLimits"

    def create(index):
        response = form(api_client(tenant), path, {"UniqueName": f"name{index % 5}"})
        return response.status_code, response.json().get("code")

    results = race(10, create)
    assert Counter(status for status, _ in results)[201] == 3
    assert {code for status, code in results if status != 201} <= {60207, 60208}
    assert RateLimit.objects.filter(service=service).count() == 3
    assert len(set(RateLimit.objects.values_list("unique_name", flat=True))) == 3
