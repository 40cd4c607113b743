"""The retention sweeps and the hot paths never wait for each other: a batch in progress
(its transaction open, its row locks held) blocks no check, approval or start, and a row a
request holds locked is skipped, not waited for. Each other connection runs with a
`lock_timeout`, so a wait would fail the test instead of hanging it; nothing sleeps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, transaction

from challenges import domain
from challenges.domain import retention as challenges_retention
from challenges.models import Challenge, Verification
from services import domain as services_domain
from services import retention as services_retention
from services.models import Event, WebhookDelivery
from services.webhooks import events
from tests.challenges.test_retention_sweep import (
    SETTINGS,
    make_attempt,
    make_challenge,
    make_code,
    make_delivery,
    make_event,
    make_verification,
    make_webhook,
)
from tests.factors.conftest import code_for, make_verified_factor
from verify_platform.lib.clock import current_time

pytestmark = pytest.mark.django_db(transaction=True)

CODE = "424242"
LIVE_TO = "+14155550150"
LOCK_TIMEOUT = "SET lock_timeout = '5s'"


@pytest.fixture
def world(settings, tenant):
    """A service with a webhook for every event, a live verification and factor, and old
    rows of every kind past their retention."""
    settings.VERIFY_RETENTION = dict(SETTINGS)
    service = services_domain.service_create(
        account=tenant.account, friendly_name="Acme", custom_code_enabled=True
    )
    webhook = make_webhook(service)
    webhook.event_types = [events.ALL]
    webhook.save(update_fields=["event_types"])
    now = current_time()
    factor, secret = make_verified_factor(service, now=now)
    # One old verification masked already (the deletion takes it), one still in clear (the
    # masking takes it first).
    old_verification = make_verification(service, days=40, to="+1******0199", now=now)
    make_attempt(old_verification, days=40, now=now)
    old_in_clear = make_verification(service, days=40, to="+14155550199", now=now)
    old_challenge = make_challenge(factor, days=100, now=now)
    make_attempt(make_code(factor, days=100, challenge=old_challenge, now=now), days=100, now=now)
    old_event = make_event(service, days=100, now=now)
    make_delivery(webhook, old_event, completed_days=99, now=now)
    make_delivery(make_webhook(service), make_event(service, days=50, now=now), completed_days=40,
                  now=now)  # fmt: skip
    domain.verification_start(service=service, to=LIVE_TO, channel="sms", custom_code=CODE)
    return {
        "tenant": tenant,
        "service": service,
        "factor": factor,
        "secret": secret,
        "old_verification": old_verification,
        "old_in_clear": old_in_clear,
        "old_challenge": old_challenge,
    }


def in_other_connection(call: Callable[[], object]) -> object:
    """`call()` in a thread of its own (its own connection, with a lock timeout); what it
    returned, or raised."""
    outcome: list[object] = []

    def run() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(LOCK_TIMEOUT)
            outcome.append(call())
        except Exception as exc:  # reported to the test below
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    [result] = outcome
    if isinstance(result, Exception):
        raise result
    return result


def test_a_batch_in_progress_blocks_no_check_approval_or_start(world):
    service, factor = world["service"], world["factor"]

    def hot_paths() -> list[str]:
        now = current_time()
        checked = domain.verification_check_find(
            account=world["tenant"].account, service_sid=service.sid, to=LIVE_TO, code=CODE
        )
        approved = domain.challenge_create(
            factor=factor, auth_payload=code_for(factor, world["secret"], now)
        )
        started = domain.verification_start(service=service, to="+14155550151", channel="sms")
        return [checked.status, approved.status, started.status]

    with transaction.atomic():
        # Every batch of both sweeps has run and holds its locks until this block ends.
        deleted = {
            **challenges_retention.retention_sweep(),
            **services_retention.retention_sweep(),
        }
        assert deleted["verifications"] and deleted["challenges"] and deleted["events"]
        assert deleted["webhook_deliveries"]
        assert in_other_connection(hot_paths) == ["approved", "approved", "pending"]
    assert not Verification.objects.filter(pk=world["old_verification"].pk).exists()
    # The approval wrote its event and queued its webhook delivery beside the batches.
    assert Event.objects.filter(type="challenge.approved").count() == 1
    assert WebhookDelivery.objects.filter(status="pending").exists()


def test_a_row_a_request_holds_is_skipped_not_waited_for(world):
    """A request holding old rows locked (a check's `lock_verification`, an answer's lock of
    its challenge) costs the sweep nothing: it takes the rest and a later run the held ones."""
    old_verification, old_challenge = world["old_verification"], world["old_challenge"]
    held = [old_verification.pk, world["old_in_clear"].pk]
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(Verification.objects.select_for_update().filter(pk__in=held))
                list(Challenge.objects.select_for_update().filter(pk=old_challenge.pk))
                locked.set()
                assert release.wait(timeout=60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=60)
        with connection.cursor() as cursor:
            cursor.execute(LOCK_TIMEOUT)
        skipped = challenges_retention.retention_sweep()
        assert skipped["verifications_redacted"] == 0
        assert skipped["verifications"] == 0 and skipped["challenges"] == 0
        assert Verification.objects.filter(pk__in=held).count() == 2
    finally:
        release.set()
        holder.join(timeout=60)
    assert not holder.is_alive()
    later = challenges_retention.retention_sweep()
    assert later["verifications_redacted"] == 1
    assert later["verifications"] == 2 and later["challenges"] == 1
    assert not Verification.objects.filter(pk__in=held).exists()
    assert not Challenge.objects.filter(pk=old_challenge.pk).exists()
    assert current_time() - old_verification.date_created > timedelta(days=30)
