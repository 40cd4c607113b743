"""Outbox events become deliveries in the same statement, queued only after commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from services.domain import event_record
from services.models import WebhookDelivery
from services.webhooks import domain as webhook_domain
from tests.webhooks.conftest import (
    challenge_approved_payload,
    factor_verified_payload,
    make_webhook,
    record,
)
from verify_platform.lib import sids

URL = "https://backend.example.com/hook"


def test_event_types_filter_and_disabled_webhooks(service):
    everything, _ = make_webhook(service, URL, ["*"])
    factors_only, _ = make_webhook(service, URL, ["factor.verified", "factor.deleted"])
    challenges_only, _ = make_webhook(service, URL, ["challenge.approved"])
    disabled, _ = make_webhook(service, URL, ["*"], status="disabled")
    extension, _ = make_webhook(service, URL, ["verification.approved"])

    factor = sids.factor_sid()
    verified = record(service, "factor.verified", factor, factor_verified_payload(factor))
    approved = record(
        service,
        "challenge.approved",
        sids.challenge_sid(),
        challenge_approved_payload(factor, sids.challenge_sid()),
    )
    verification = record(service, "verification.approved", sids.verification_sid(), {})

    def targets(event):
        return set(WebhookDelivery.objects.filter(event=event).values_list("webhook_id", flat=True))

    assert targets(verified) == {everything.sid, factors_only.sid}
    assert targets(approved) == {everything.sid, challenges_only.sid}
    assert targets(verification) == {everything.sid, extension.sid}
    assert not WebhookDelivery.objects.filter(webhook=disabled).exists()
    row = WebhookDelivery.objects.get(event=verified, webhook=everything)
    assert row.status == "pending" and row.attempts == 0
    assert row.resource_sid == factor


def test_other_services_webhooks_get_nothing(service, tenant):
    from services import domain

    other = domain.service_create(account=tenant.account, friendly_name="Other")
    make_webhook(other, URL)
    record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    assert not WebhookDelivery.objects.exists()


def test_webhook_disabled_later_cancels_its_waiting_deliveries(service):
    webhook, _ = make_webhook(service, URL)
    record(service, "factor.created", sids.factor_sid(), factor_verified_payload())
    assert webhook_domain.webhook_disable(webhook=webhook, reason="tenant asked")
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["canceled"]
    record(service, "factor.deleted", sids.factor_sid(), factor_verified_payload())
    assert WebhookDelivery.objects.count() == 1


def test_each_events_deliveries_are_queued_after_commit(
    service, django_capture_on_commit_callbacks, enqueued
):
    make_webhook(service, URL)
    make_webhook(service, URL, ["factor.verified"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        for _ in range(3):
            event_record(
                service=service,
                type="factor.verified",
                resource_sid=sids.factor_sid(),
                payload=factor_verified_payload(),
            )
    assert len(callbacks) == 3  # one per event (a request stores one)
    assert enqueued == []  # nothing before commit
    for callback in callbacks:
        callback()
    assert [len(ids) for ids in enqueued] == [2, 2, 2]
    queued = sorted(i for ids in enqueued for i in ids)
    assert queued == sorted(WebhookDelivery.objects.values_list("pk", flat=True))


def test_rolled_back_transaction_schedules_nothing(
    service, django_capture_on_commit_callbacks, enqueued
):
    make_webhook(service, URL)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        event_record(
            service=service,
            type="factor.verified",
            resource_sid=sids.factor_sid(),
            payload=factor_verified_payload(),
        )
        raise RuntimeError("the transition failed")
    assert callbacks == []
    assert enqueued == []
    assert not WebhookDelivery.objects.exists()


def test_deliveries_rolled_back_with_a_savepoint_are_not_queued(
    service, django_capture_on_commit_callbacks, enqueued
):
    make_webhook(service, URL)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            event_record(
                service=service,
                type="factor.verified",
                resource_sid=sids.factor_sid(),
                payload=factor_verified_payload(),
            )
            raise RuntimeError("inner step failed")
        kept = event_record(
            service=service,
            type="factor.created",
            resource_sid=sids.factor_sid(),
            payload=factor_verified_payload(),
        )
    assert len(callbacks) == 1
    assert enqueued == [[WebhookDelivery.objects.get(event=kept).pk]]
    assert WebhookDelivery.objects.count() == 1
