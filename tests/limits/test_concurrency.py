"""The failure streak counts exactly under concurrency: threads released together by a
barrier, one PostgreSQL connection each."""

from __future__ import annotations

from collections import Counter

import pytest

from limits import domain
from limits.models import DestinationThrottle
from tests.challenges.conftest import MOBILE
from tests.challenges.test_verification_concurrency import race
from tests.conftest import api_client
from tests.limits.conftest import check, run_due, start

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
