"""Consecutive failed checks per destination, across verifications (NIST SP 800-63B rev. 4
3.1.3.2, 5.2.2; reliability matrix R18): growing delay, block at 100, operator clear."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from challenges.models import Verification
from limits import domain
from limits.models import DestinationThrottle
from tests.challenges.conftest import MOBILE, OTHER_MOBILE
from tests.helpers import assert_twilio_error
from tests.limits.conftest import check, run_due, start

pytestmark = pytest.mark.django_db


def _code(locmem_channels, to: str = MOBILE) -> str:
    run_due()
    return [m.code for m in locmem_channels.outbox if m.to == to][-1]


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def _throttle(service, to: str = MOBILE) -> DestinationThrottle | None:
    return DestinationThrottle.objects.filter(service=service, to=to).first()


def test_delay_grows_from_the_threshold_and_blocks_at_100(service):
    now = timezone.now()
    for failures in range(1, 10):
        throttle = domain.destination_failure_record(service=service, to=MOBILE, now=now)
        assert throttle.consecutive_failures == failures and throttle.next_attempt_at is None
    delays = []
    for _ in range(10, 20):
        throttle = domain.destination_failure_record(service=service, to=MOBILE, now=now)
        delays.append(int((throttle.next_attempt_at - now).total_seconds()))
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    for _ in range(20, 100):
        throttle = domain.destination_failure_record(service=service, to=MOBILE, now=now)
    assert throttle.consecutive_failures == 99 and throttle.status == "active"
    throttle = domain.destination_failure_record(service=service, to=MOBILE, now=now)
    assert throttle.consecutive_failures == 100
    assert throttle.status == "blocked" and throttle.date_blocked == now


def test_block_threshold_cannot_exceed_the_nist_ceiling(service, settings):
    settings.VERIFY_DESTINATION_THROTTLE = {"BLOCK_AFTER_FAILURES": 500}
    DestinationThrottle.objects.create(
        account_id=service.account_id, service=service, to=MOBILE, consecutive_failures=99
    )
    assert domain.destination_failure_record(service=service, to=MOBILE).status == "blocked"


def test_wrong_checks_are_counted_and_throttle_checks_and_starts(
    api, service, settings, locmem_channels
):
    settings.VERIFY_DESTINATION_THROTTLE = {"FREE_FAILURES": 3}
    assert start(api, service, MOBILE).status_code == 201
    code = _code(locmem_channels)
    for _ in range(3):
        response = check(api, service, MOBILE, _wrong(code))
        assert response.status_code == 201 and response.json()["status"] == "pending"
    assert _throttle(service).consecutive_failures == 3
    # Waiting: even the right code is refused, uncounted, and so is a new start.
    refused = check(api, service, MOBILE, code)
    assert_twilio_error(refused, 429, 60202)
    assert 1 <= int(refused["Retry-After"]) <= 30
    assert_twilio_error(start(api, service, MOBILE), 429, 60202)
    assert _throttle(service).consecutive_failures == 3
    assert Verification.objects.get().check_attempts == 3
    # Another destination is not affected.
    assert start(api, service, OTHER_MOBILE).status_code == 201
    # After the wait, a success ends the streak.
    DestinationThrottle.objects.filter(service=service, to=MOBILE).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    approved = check(api, service, MOBILE, code)
    assert approved.status_code == 201 and approved.json()["status"] == "approved"
    assert _throttle(service) is None


def test_failures_survive_new_verifications(api, service, settings, locmem_channels):
    settings.VERIFY_DESTINATION_THROTTLE = {"FREE_FAILURES": 7}
    assert start(api, service, MOBILE).status_code == 201
    first = _code(locmem_channels)
    for _ in range(5):
        check(api, service, MOBILE, _wrong(first))
    assert Verification.objects.get().status == "max_attempts_reached"
    # Its lifetime over (move the row, not the clock), a new verification with a new code...
    Verification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert start(api, service, MOBILE).status_code == 201
    second = _code(locmem_channels)
    assert Verification.objects.filter(status="pending").get().check_attempts == 0
    check(api, service, MOBILE, _wrong(second))
    # ...does not reset the destination's count: the 7th consecutive failure starts the wait.
    check(api, service, MOBILE, _wrong(second))
    assert _throttle(service).consecutive_failures == 7
    assert_twilio_error(check(api, service, MOBILE, second), 429, 60202)


def test_blocked_destination_until_an_operator_clears_it(
    api, service, locmem_channels, admin_client
):
    assert start(api, service, MOBILE).status_code == 201
    code = _code(locmem_channels)
    DestinationThrottle.objects.create(
        account_id=service.account_id, service=service, to=MOBILE, consecutive_failures=99
    )
    assert check(api, service, MOBILE, _wrong(code)).status_code == 201
    throttle = _throttle(service)
    assert throttle.status == "blocked" and throttle.consecutive_failures == 100
    # Neither the right code nor a new start gets through, however long one waits.
    DestinationThrottle.objects.update(next_attempt_at=None)
    blocked = check(api, service, MOBILE, code)
    assert_twilio_error(blocked, 429, 60202)
    assert "Retry-After" not in blocked
    assert_twilio_error(start(api, service, MOBILE), 429, 60202)

    listing = admin_client.get("/admin/limits/destinationthrottle/?status=blocked")
    assert listing.status_code == 200 and MOBILE in listing.content.decode()
    admin_client.post(
        "/admin/limits/destinationthrottle/",
        {"action": "clear", "_selected_action": [throttle.pk]},
    )
    throttle.refresh_from_db()
    assert throttle.status == "active" and throttle.consecutive_failures == 0
    assert throttle.date_cleared is not None
    approved = check(api, service, MOBILE, code)
    assert approved.status_code == 201 and approved.json()["status"] == "approved"


def test_same_number_in_another_service_has_its_own_count(api, tenant, service, locmem_channels):
    from services import domain as service_domain

    other = service_domain.service_create(account=tenant.account, friendly_name="Other")
    DestinationThrottle.objects.create(
        account_id=service.account_id,
        service=service,
        to=MOBILE,
        consecutive_failures=100,
        status="blocked",
    )
    assert_twilio_error(start(api, service, MOBILE), 429, 60202)
    assert start(api, other, MOBILE).status_code == 201


def test_admin_lists_rate_limits_with_buckets(admin_client, service):
    rate_limit = domain.rate_limit_create(service=service, unique_name="end_user_ip")
    bucket = domain.bucket_create(rate_limit=rate_limit, max=7, interval=90)
    listing = admin_client.get("/admin/limits/ratelimit/")
    assert listing.status_code == 200 and "end_user_ip" in listing.content.decode()
    page = admin_client.get(f"/admin/limits/ratelimit/{rate_limit.sid}/change/")
    assert page.status_code == 200 and bucket.sid in page.content.decode()


def test_the_admin_cannot_delete_a_destination_throttle(rf, admin_user):
    """Deleting a blocked row would unblock it without the `clear` action's record."""
    from django.contrib import admin

    from limits.models import DestinationThrottle

    request = rf.get("/admin/")
    request.user = admin_user
    assert admin.site._registry[DestinationThrottle].has_delete_permission(request) is False
