"""`update_then_insert`: the inserts exist exactly when the conditional UPDATE won, and one
failing insert undoes the whole statement."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from challenges.models import Challenge
from factors.models import Factor
from services.domain import event_build
from services.models import Event
from tests.factors.conftest import make_verified_factor
from verify_platform.lib.statements import update_then_insert

pytestmark = pytest.mark.django_db


def _rows(factor, service, *, sid=None):
    challenge = Challenge(
        service_id=service.pk,
        entity_id=factor.entity_id,
        factor_id=factor.pk,
        expiration_date=factor.date_created,
        metadata={"k": "v"},
        details_message=None,
    )
    if sid:
        challenge.sid = sid
    event = event_build(service=service, type="x.test", resource_sid=challenge.sid, payload={})
    return challenge, event


def test_inserts_follow_a_winning_update(service):
    factor, _ = make_verified_factor(service)
    challenge, event = _rows(factor, service)
    won = update_then_insert(
        Factor.objects.filter(pk=factor.pk, consecutive_failures=0),
        {"consecutive_failures": 7},
        [challenge, event],
    )
    assert won is True
    assert Factor.objects.get(pk=factor.pk).consecutive_failures == 7
    stored = Challenge.objects.get(pk=challenge.sid)
    assert stored.metadata == {"k": "v"} and stored.date_created == challenge.date_created
    assert Event.objects.filter(resource_sid=challenge.sid, type="x.test").count() == 1


def test_nothing_is_inserted_when_the_update_matches_nothing(service):
    factor, _ = make_verified_factor(service)
    challenge, event = _rows(factor, service)
    won = update_then_insert(
        Factor.objects.filter(pk=factor.pk, consecutive_failures=99),
        {"consecutive_failures": 7},
        [challenge, event],
    )
    assert won is False
    assert Factor.objects.get(pk=factor.pk).consecutive_failures == 0
    assert not Challenge.objects.filter(pk=challenge.sid).exists()
    assert not Event.objects.filter(resource_sid=challenge.sid).exists()


def test_a_failing_insert_undoes_the_update(service):
    factor, _ = make_verified_factor(service)
    first, _ = _rows(factor, service)
    first.save(force_insert=True)
    duplicate, event = _rows(factor, service, sid=first.sid)  # the primary key is taken
    with pytest.raises(IntegrityError), transaction.atomic():
        update_then_insert(
            Factor.objects.filter(pk=factor.pk), {"consecutive_failures": 7}, [duplicate, event]
        )
    assert Factor.objects.get(pk=factor.pk).consecutive_failures == 0
    assert not Event.objects.filter(type="x.test").exists()


def test_a_tail_follows_the_inserts_only_when_the_update_won(service):
    """`update_then_insert` with an outbox tail: the event and its webhook delivery exist
    exactly when the UPDATE matched (the tail's own statement shapes are in
    tests/webhooks/test_outbox.py)."""
    from services.domain import event_outbox
    from services.models import WebhookDelivery
    from tests.webhooks.conftest import make_webhook

    factor, _ = make_verified_factor(service)
    hook, _ = make_webhook(service, "https://backend.example.com/hook")
    for failures, won in ((99, False), (0, True)):
        challenge, event = _rows(factor, service)
        outbox = event_outbox(
            service=service, type=event.type, resource_sid=challenge.sid, payload={}
        )
        assert (
            update_then_insert(
                Factor.objects.filter(pk=factor.pk, consecutive_failures=failures),
                {"consecutive_failures": 7},
                [challenge],
                outbox,
            )
            is won
        )
        assert Challenge.objects.filter(pk=challenge.sid).exists() is won
        deliveries = WebhookDelivery.objects.filter(resource_sid=challenge.sid)
        assert [d.webhook_id for d in deliveries] == ([hook.pk] if won else [])
        assert Event.objects.filter(resource_sid=challenge.sid).exists() is won


def _prepared(value):
    """A JSON parameter is an adapter object; compare what it wraps."""
    return ("json", value.obj) if hasattr(value, "obj") else value


def test_insert_params_are_what_django_prepares(service):
    """The unprepared fast path gives exactly the parameters of Django's own preparation,
    for every column of the rows the hot paths insert (str, int, bool, None, aware
    datetimes, JSON, foreign keys, auto_now fields)."""
    from django.db import connection

    from challenges.models import DeliveryAttempt, Verification
    from verify_platform.lib.clock import current_time
    from verify_platform.lib.statements import insert_columns_of, insert_params

    factor, _ = make_verified_factor(service)
    challenge, event = _rows(factor, service)
    now = current_time()
    verification = Verification(
        service=service,
        to="+14155550100",
        channel="sms",
        plan=[{"channel": "sms"}],
        code_hash="h",
        code_salt="s",
        expires_at=now,
        custom_code=True,
    )
    attempt = DeliveryAttempt(verification=verification, channel="sms", due_at=now, deadline=now)
    for obj in (challenge, event, verification, attempt):
        fields = insert_columns_of(type(obj))
        fast = insert_params(obj, fields, connection)
        # auto_now fields: the value the fast path set on the instance (a second pre_save
        # would take a new time).
        django = [
            f.get_db_prep_save(
                getattr(obj, f.attname)
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                else f.pre_save(obj, True),
                connection,
            )
            for f in fields
        ]
        assert [_prepared(v) for v in fast] == [_prepared(v) for v in django], type(obj)
