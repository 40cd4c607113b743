"""Enrolments never completed expire: the beat sweep deletes unverified factors older than
VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS (default 24 h), each with its `factor.deleted` event,
in bounded batches; verified factors and recovery codes are never touched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings

from challenges.tasks import challenge_expire_sweep_task
from factors import domain
from factors.models import Factor
from services.models import Event
from tests.factors.conftest import make_factor, make_verified_factor
from verify_platform.lib import clock
from verify_platform.lib.errors import NotFound

pytestmark = pytest.mark.django_db

DAY = timedelta(hours=24)


def platform_clock_moved(monkeypatch, by: timedelta) -> None:
    """The platform clock (the database's, plus the measured offset) reads `by` later."""
    monkeypatch.setattr(clock, "_offset", by)


def test_twofactor_unverified_factor_expires_through_the_sweep(monkeypatch, service):
    assert django_settings.VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS == 24 * 3600
    unverified, _ = make_factor(service, identity="abandoned-0001")
    verified, _ = make_verified_factor(service, identity="enrolled-0001")
    backup, _ = domain.factor_create(
        service=service, identity="enrolled-0001", factor_type="recovery_codes", friendly_name="B"
    )

    platform_clock_moved(monkeypatch, DAY - timedelta(minutes=1))
    challenge_expire_sweep_task()
    assert Factor.objects.filter(pk=unverified.pk).exists()

    platform_clock_moved(monkeypatch, DAY + timedelta(seconds=5))
    challenge_expire_sweep_task()
    assert not Factor.objects.filter(pk=unverified.pk).exists()
    assert set(Factor.objects.values_list("pk", flat=True)) == {verified.pk, backup.pk}
    event = Event.objects.get(resource_sid=unverified.sid, type="factor.deleted")
    assert event.payload["status"] == "deleted"
    assert event.payload["entity_identity"] == "abandoned-0001"
    # An enrolment answered after its expiry finds nothing: 404, not a 500.
    with pytest.raises(NotFound):
        domain.factor_update(factor=unverified, auth_payload="123456")


def test_twofactor_unverified_expiry_is_batched_and_configurable(monkeypatch, service, settings):
    factors = [make_factor(service, identity=f"abandoned-{n:04d}")[0] for n in range(3)]
    platform_clock_moved(monkeypatch, DAY + timedelta(seconds=5))
    assert domain.factors_expire_unverified(limit=2) == 2
    assert Factor.objects.count() == 1
    assert domain.factors_expire_unverified(limit=2) == 1
    assert not Factor.objects.filter(pk__in=[f.pk for f in factors]).exists()

    settings.VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS = 0  # off
    kept, _ = make_factor(service, identity="abandoned-0009")
    platform_clock_moved(monkeypatch, timedelta(days=365))
    assert domain.factors_expire_unverified() == 0
    settings.VERIFY_UNVERIFIED_FACTOR_TTL_SECONDS = 60
    platform_clock_moved(monkeypatch, timedelta(seconds=61))
    assert domain.factors_expire_unverified() == 1
    assert not Factor.objects.filter(pk=kept.pk).exists()
