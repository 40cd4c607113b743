"""Service Rate Limits and Buckets through the official SDK: CRUD, Twilio's error codes,
and tenant isolation."""

from __future__ import annotations

import json

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from limits.models import Bucket, RateLimit
from tests.helpers import assert_twilio_error, form

pytestmark = pytest.mark.django_db(transaction=True)


def _error(call) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as info:
        call()
    return info.value


def _status_and_code(call) -> tuple[int, int]:
    """A list page that is not 200 raises the SDK's plain `TwilioException` with the
    response; everything else raises `TwilioRestException`."""
    with pytest.raises(TwilioException) as info:
        call()
    error = info.value
    if isinstance(error, TwilioRestException):
        return error.status, error.code
    response = error.args[1]
    return response.status_code, json.loads(response.text)["code"]


def test_rate_limit_crud(sdk, service, live_server):
    limits = sdk.services(service.sid).rate_limits
    created = limits.create(unique_name="end_user_ip", description="Per end-user IP")
    assert created.sid.startswith("RK") and len(created.sid) == 34
    assert created.unique_name == "end_user_ip"
    assert created.description == "Per end-user IP"
    assert created.service_sid == service.sid
    assert created.account_sid == service.account_id
    assert created.url == f"{live_server.url}/v2/Services/{service.sid}/RateLimits/{created.sid}"
    assert created.links == {"buckets": created.url + "/Buckets"}
    assert created.date_created is not None and created.date_created.tzinfo is not None

    fetched = limits(created.sid).fetch()
    assert (fetched.sid, fetched.unique_name) == (created.sid, "end_user_ip")

    updated = limits(created.sid).update(description="IP of the end user")
    assert updated.description == "IP of the end user"
    assert updated.unique_name == "end_user_ip"

    second = limits.create(unique_name="session.id-2")
    assert second.description is None
    assert [r.sid for r in limits.list()] == [created.sid, second.sid]
    assert [r.sid for r in limits.list(page_size=1)] == [created.sid, second.sid]

    assert limits(created.sid).delete() is True
    assert _error(limits(created.sid).fetch).status == 404
    assert [r.sid for r in limits.list()] == [second.sid]


def test_bucket_crud(sdk, service, live_server):
    rate_limit = sdk.services(service.sid).rate_limits.create(unique_name="ip")
    buckets = sdk.services(service.sid).rate_limits(rate_limit.sid).buckets
    bucket = buckets.create(max=5, interval=60)
    assert bucket.sid.startswith("BL") and len(bucket.sid) == 34
    assert (bucket.max, bucket.interval) == (5, 60)
    assert bucket.rate_limit_sid == rate_limit.sid
    assert bucket.service_sid == service.sid and bucket.account_sid == service.account_id
    assert bucket.url == f"{rate_limit.url}/Buckets/{bucket.sid}"

    assert buckets(bucket.sid).fetch().max == 5
    updated = buckets(bucket.sid).update(max=8)
    assert (updated.max, updated.interval) == (8, 60)
    updated = buckets(bucket.sid).update(interval=600)
    assert (updated.max, updated.interval) == (8, 600)

    other = buckets.create(max=100, interval=86400)
    assert [b.sid for b in buckets.list()] == [bucket.sid, other.sid]
    assert buckets(bucket.sid).delete() is True
    assert _error(buckets(bucket.sid).fetch).status == 404
    assert [b.sid for b in buckets.list()] == [other.sid]

    # Deleting the rate limit deletes its buckets.
    sdk.services(service.sid).rate_limits(rate_limit.sid).delete()
    assert not Bucket.objects.filter(sid=other.sid).exists()


def test_rate_limit_errors(sdk, service, settings):
    settings.VERIFY_RATE_LIMITS = {"MAX_PER_SERVICE": 2, "MAX_BUCKETS_PER_RATE_LIMIT": 2}
    limits = sdk.services(service.sid).rate_limits
    limits.create(unique_name="ip")
    duplicate = _error(lambda: limits.create(unique_name="ip"))
    assert (duplicate.status, duplicate.code) == (400, 60208)
    for bad in ("has space", "ü", "a/b", "x" * 192, ""):
        error = _error(lambda bad=bad: limits.create(unique_name=bad))
        assert (error.status, error.code) == (400, 60209), bad
    limits.create(unique_name="phone_prefix")
    full = _error(lambda: limits.create(unique_name="third"))
    assert (full.status, full.code) == (400, 60207)
    assert RateLimit.objects.filter(service=service).count() == 2


def test_bucket_errors(sdk, service, settings):
    settings.VERIFY_RATE_LIMITS = {"MAX_PER_SERVICE": 10, "MAX_BUCKETS_PER_RATE_LIMIT": 2}
    rate_limit = sdk.services(service.sid).rate_limits.create(unique_name="ip")
    buckets = sdk.services(service.sid).rate_limits(rate_limit.sid).buckets
    first = buckets.create(max=5, interval=60)
    same = _error(lambda: buckets.create(max=10, interval=60))
    assert (same.status, same.code) == (400, 60211)
    second = buckets.create(max=50, interval=3600)
    full = _error(lambda: buckets.create(max=500, interval=86400))
    assert (full.status, full.code) == (400, 60210)
    clash = _error(lambda: buckets(second.sid).update(interval=60))
    assert (clash.status, clash.code) == (400, 60211)
    assert buckets(first.sid).fetch().interval == 60
    for max_, interval in ((0, 60), (5, 0), (5, 86401), (-1, 60)):
        error = _error(lambda m=max_, i=interval: buckets.create(max=m, interval=i))
        assert (error.status, error.code) == (400, 60200), (max_, interval)


def test_bucket_needs_max_and_interval(api, service):
    from limits import domain

    rate_limit = domain.rate_limit_create(service=service, unique_name="ip")
    path = f"/v2/Services/{service.sid}/RateLimits/{rate_limit.sid}/Buckets"
    assert_twilio_error(form(api, path, {"Max": "5"}), 400, 60200)
    assert_twilio_error(form(api, path, {"Interval": "5"}), 400, 60200)
    assert_twilio_error(form(api, path, {"Max": "1.5", "Interval": "5"}), 400, 60200)
    assert not Bucket.objects.exists()


def test_other_tenant_sees_404_everywhere(sdk, other_sdk, service):
    rate_limit = sdk.services(service.sid).rate_limits.create(unique_name="ip")
    bucket = (
        sdk.services(service.sid).rate_limits(rate_limit.sid).buckets.create(max=1, interval=60)
    )
    theirs = other_sdk.services(service.sid).rate_limits
    calls = [
        lambda: theirs.create(unique_name="mine"),
        theirs.list,
        theirs(rate_limit.sid).fetch,
        lambda: theirs(rate_limit.sid).update(description="x"),
        theirs(rate_limit.sid).delete,
        lambda: theirs(rate_limit.sid).buckets.create(max=1, interval=5),
        theirs(rate_limit.sid).buckets.list,
        theirs(rate_limit.sid).buckets(bucket.sid).fetch,
        lambda: theirs(rate_limit.sid).buckets(bucket.sid).update(max=9),
        theirs(rate_limit.sid).buckets(bucket.sid).delete,
    ]
    for call in calls:
        assert _status_and_code(call) == (404, 20404)
    # Exactly like a SID that never existed.
    random_sid = "RK" + "0" * 32
    never = _error(sdk.services(service.sid).rate_limits(random_sid).fetch)
    assert (never.status, never.code) == (404, 20404)
    assert Bucket.objects.get(sid=bucket.sid).max == 1
    assert RateLimit.objects.filter(service=service).count() == 1


def test_bucket_of_another_rate_limit_is_404(sdk, service):
    limits = sdk.services(service.sid).rate_limits
    one, two = limits.create(unique_name="one"), limits.create(unique_name="two")
    bucket = limits(one.sid).buckets.create(max=1, interval=60)
    error = _error(limits(two.sid).buckets(bucket.sid).fetch)
    assert (error.status, error.code) == (404, 20404)


def test_sdk_rate_limits_parameter_is_enforced(sdk, service):
    from challenges.models import Verification
    from tests.challenges.conftest import MOBILE, OTHER_MOBILE
    from tests.limits.conftest import sent_count

    rate_limit = sdk.services(service.sid).rate_limits.create(unique_name="end_user_ip")
    sdk.services(service.sid).rate_limits(rate_limit.sid).buckets.create(max=1, interval=600)
    verifications = sdk.services(service.sid).verifications
    first = verifications.create(
        to=MOBILE, channel="sms", rate_limits={"end_user_ip": "203.0.113.5"}
    )
    assert first.status == "pending"
    error = _error(
        lambda: verifications.create(
            to=OTHER_MOBILE, channel="sms", rate_limits={"end_user_ip": "203.0.113.5"}
        )
    )
    assert (error.status, error.code) == (429, 60203)
    assert list(Verification.objects.values_list("to", flat=True)) == [MOBILE]
    assert sent_count() == 1
