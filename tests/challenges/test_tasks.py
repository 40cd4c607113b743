"""The expiry sweeper through a real Celery worker on the Redis broker (not eager mode)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from challenges import domain
from challenges.models import Challenge
from challenges.tasks import challenge_expire_sweep_task
from services import domain as service_domain
from services.models import Event
from tests.factors.conftest import make_verified_factor


@pytest.fixture
def celery_worker_thread(transactional_db):
    from celery.contrib.testing.worker import start_worker

    from verify_platform.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield app


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sweeper_runs_on_a_worker(celery_worker_thread):
    account, _ = service_domain.account_create(friendly_name="Sweep")
    service = service_domain.service_create(account=account, friendly_name="Sweep")
    factor, _ = make_verified_factor(service, now=timezone.now())
    overdue = domain.challenge_create(factor=factor)
    fresh = domain.challenge_create(factor=factor)
    Challenge.objects.filter(pk=overdue.pk).update(
        expiration_date=timezone.now() - timedelta(seconds=1)
    )

    challenge_expire_sweep_task.delay()

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if Challenge.objects.get(pk=overdue.pk).status == "expired":
            break
        time.sleep(0.05)
    assert Challenge.objects.get(pk=overdue.pk).status == "expired"
    assert Challenge.objects.get(pk=fresh.pk).status == "pending"
    assert Event.objects.filter(type="challenge.expired", resource_sid=overdue.sid).count() == 1
