"""One clock: a process whose own clock is off still judges time on PostgreSQL's
(SECURITY R8), without a round trip per call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from challenges import domain
from challenges.models import Verification
from verify_platform.lib import clock

pytestmark = pytest.mark.django_db


def database_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


@pytest.fixture
def host_clock_fast(monkeypatch):
    """This process's clock five minutes ahead, as under `faketime '+5m'`."""
    real = timezone.now
    monkeypatch.setattr(clock.timezone, "now", lambda: real() + timedelta(minutes=5))
    clock.forget_offset()
    yield
    clock.forget_offset()


def test_a_fast_host_clock_is_corrected_to_the_database_clock(host_clock_fast):
    assert abs(clock.current_time() - database_now()) < timedelta(seconds=1)


def test_the_offset_is_measured_once_not_per_call(host_clock_fast, django_assert_num_queries):
    clock.current_time()  # measures
    with django_assert_num_queries(0):
        for _ in range(50):
            clock.current_time()


def test_expiry_decisions_are_unchanged_under_a_fast_host_clock(host_clock_fast, service):
    """A verification with four minutes left is not expired by a process five minutes fast."""
    verification = domain.verification_start(service=service, to="+14155550142", channel="sms")
    Verification.objects.filter(pk=verification.pk).update(
        expires_at=database_now() + timedelta(minutes=4)
    )
    assert domain.verification_expire_due() == 0
    assert Verification.objects.get(pk=verification.pk).status == "pending"
    Verification.objects.filter(pk=verification.pk).update(
        expires_at=database_now() - timedelta(seconds=1)
    )
    assert domain.verification_expire_due() == 1
    assert Verification.objects.get(pk=verification.pk).status == "expired"


def test_a_fixed_moment_is_used_as_given():
    moment = timezone.now() - timedelta(days=3)
    assert clock.current_time(moment) is moment


def test_a_failed_measurement_leaves_the_callers_transaction_usable(service):
    """The measurement can fail inside a domain transaction; the transaction must go on."""

    def failing_clock(execute, sql, params, many, context):
        if "statement_timestamp" in sql:
            sql = "SELECT 1 / 0"  # a real error on the server, as a lost or cancelled read
        return execute(sql, params, many, context)

    clock.forget_offset()
    with transaction.atomic():
        with connection.execute_wrapper(failing_clock):
            moment = clock.current_time()
        assert abs(moment - timezone.now()) < timedelta(minutes=1)
        assert Verification.objects.filter(service=service).count() == 0  # not aborted
    clock.forget_offset()
