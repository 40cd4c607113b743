"""The hand-written statements (`challenges/sql.py`, `factors/sql.py`, `limits/sql.py`,
`services/sql.py`): each one named, run on its own, and its column lists held to the models,
so a column added to a model fails here until the statement writes it too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models.fields import AutoFieldMixin

from challenges import domain, sql
from challenges.models import Challenge, DeliveryAttempt, Verification
from factors import domain as factor_domain
from factors import sql as factor_sql
from limits import domain as limits_domain
from limits.models import DestinationThrottle
from services import sql as services_sql
from services.domain import event_outbox
from services.models import Event, Service, WebhookDelivery
from tests.challenges.conftest import MOBILE, OTHER_MOBILE
from tests.factors.conftest import code_for, make_verified_factor
from tests.webhooks.conftest import make_webhook

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def columns(model) -> set[str]:
    return {f.column for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin)}


@pytest.mark.parametrize(
    ("listed", "model"),
    [
        (sql.VERIFICATION_COLUMNS, Verification),
        (sql.ATTEMPT_COLUMNS, DeliveryAttempt),
        (sql.CHALLENGE_COLUMNS, Challenge),
        (services_sql.EVENT_COLUMNS, Event),
        (services_sql.DELIVERY_COLUMNS, WebhookDelivery),
        (services_sql.SERVICE_COLUMNS, Service),
    ],
)
def test_every_insert_writes_every_column_of_its_model(listed, model):
    assert len(listed) == len(set(listed))
    assert set(listed) == columns(model)


def run(statement: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def test_verification_create_inserts_once_per_destination(service):
    first = domain.verification_start(service=service, to=MOBILE, channel="sms", now=T0)
    assert DeliveryAttempt.objects.filter(verification=first).count() == 1
    # A second start finds the pending one: the statement inserts nothing, the locking path
    # resends the same verification.
    again = domain.verification_start(service=service, to=MOBILE, channel="sms", now=T0)
    assert again.sid == first.sid
    assert Verification.objects.filter(to=MOBILE).count() == 1
    assert DeliveryAttempt.objects.filter(verification=first).count() == 2


def test_verification_create_respects_a_closed_gate(service, settings):
    settings.VERIFY_SEND_BUDGETS = dict.fromkeys(
        ("ACCOUNT_PER_MINUTE", "ACCOUNT_PER_HOUR", "SERVICE_PER_MINUTE", "SERVICE_PER_HOUR"), 0
    )
    DestinationThrottle.objects.create(
        account_id=service.account_id,
        service=service,
        to=OTHER_MOBILE,
        consecutive_failures=20,
        next_attempt_at=T0 + timedelta(minutes=5),
    )
    with pytest.raises(Exception) as refused:
        domain.verification_start(service=service, to=OTHER_MOBILE, channel="sms", now=T0)
    assert getattr(refused.value, "code", None) == 60202
    assert not Verification.objects.filter(to=OTHER_MOBILE).exists()


def test_verification_approve_wins_only_on_the_row_as_read(service):
    verification = domain.verification_start(service=service, to=MOBILE, channel="sms", now=T0)
    stale = Verification.objects.select_related("service").get(pk=verification.pk)
    Verification.objects.filter(pk=verification.pk).update(
        date_updated=stale.date_updated + timedelta(seconds=1)
    )
    outbox = event_outbox(
        service=service, type="verification.approved", resource_sid=stale.sid, payload={}
    )
    params = {
        **limits_domain.destination_params(service=service, to=MOBILE, now=T0),
        **outbox.params(),
        "sid": stale.sid,
        "approved": "approved",
        "pending": ["pending"],
        "max_checks": 5,
        "read_updated": stale.date_updated,
        "attempt_canceled": "canceled",
        "attempt_scheduled": ["scheduled"],
    }
    assert run(sql.VERIFICATION_APPROVE, params) == []
    assert Verification.objects.get(pk=stale.pk).status == "pending"
    assert not Event.objects.filter(type="verification.approved").exists()
    params["read_updated"] = stale.date_updated + timedelta(seconds=1)
    [[deliveries]] = run(sql.VERIFICATION_APPROVE, params)
    assert deliveries == []
    assert Verification.objects.get(pk=stale.pk).status == "approved"
    attempts = DeliveryAttempt.objects.filter(verification_id=stale.pk)
    assert set(attempts.values_list("status", flat=True)) == {"canceled"}
    assert Event.objects.filter(type="verification.approved", resource_sid=stale.sid).count() == 1


def test_totp_step_book_accepts_a_step_once(service):
    factor, secret = make_verified_factor(service)
    code = code_for(factor, secret, T0)
    step = factor_domain.factor_totp_step(factor=factor, payload=code, now=T0)
    params = factor_domain.totp_step_params(factor, step, T0)
    assert run(factor_sql.TOTP_STEP_BOOK, params) == [(factor.sid,)]
    assert run(factor_sql.TOTP_STEP_BOOK, params) == []  # a replay of the same step


def test_totp_challenge_approve_stores_challenge_event_and_deliveries(service):
    factor, secret = make_verified_factor(service)
    webhook, _ = make_webhook(service, "https://backend.example.com/hook", ["*"])
    challenge = domain.challenge_create(
        factor=factor, auth_payload=code_for(factor, secret, T0, 1), now=T0 + timedelta(seconds=30)
    )
    assert challenge.status == "approved"
    stored = Challenge.objects.get(pk=challenge.sid)
    assert (stored.status, stored.date_responded) == ("approved", T0 + timedelta(seconds=30))
    event = Event.objects.get(type="challenge.approved", resource_sid=challenge.sid)
    assert list(event.deliveries.values_list("webhook_id", flat=True)) == [webhook.sid]


def test_attempt_claim_and_record_sent_move_an_attempt_once(service):
    verification = domain.verification_start(service=service, to=MOBILE, channel="sms", now=T0)
    attempt = DeliveryAttempt.objects.get(verification=verification)
    params = {
        "sid": attempt.sid,
        "now": T0,
        "lease": T0 + timedelta(seconds=60),
        "sending": "sending",
        "first_fallback": False,
    }
    claimed = run(sql.ATTEMPT_CLAIM["verification"], params)
    assert len(claimed) == 1 and claimed[0][:4] == ("sms", 1, 0, 1)
    assert run(sql.ATTEMPT_CLAIM["verification"], params) == []  # the lease is held
    assert run(sql.ATTEMPT_CLAIM["factor_code"], params) == []  # not a factor code's
    outbox = event_outbox(
        service=service, type="delivery.sent", resource_sid=verification.sid, payload={}
    )
    record = {
        **outbox.params(),
        "owner": verification.sid,
        "sid": attempt.sid,
        "now": T0,
        "sent": "sent",
        "sending": ["sending"],
        "adapter": "locmem",
        "provider_message_id": "SM1",
        "error_code": None,
        "error_message": None,
    }
    [row] = run(sql.ATTEMPT_RECORD_SENT["verification"], record)
    assert row[0] == "pending" and row[1] == 1
    assert DeliveryAttempt.objects.get(pk=attempt.sid).status == "sent"
    record["event_sid"] = "EV" + "0" * 32
    assert run(sql.ATTEMPT_RECORD_SENT["verification"], record) == []  # no longer sending


def test_event_record_reaches_only_subscribed_enabled_webhooks(service):
    everything, _ = make_webhook(service, "https://backend.example.com/a", ["*"])
    exact, _ = make_webhook(service, "https://backend.example.com/b", ["factor.created"])
    make_webhook(service, "https://backend.example.com/c", ["factor.deleted"])
    make_webhook(service, "https://backend.example.com/d", ["*"], status="disabled")
    outbox = event_outbox(service=service, type="factor.created", resource_sid="YF1", payload={})
    [[ids]] = run(services_sql.EVENT_RECORD, outbox.params())
    reached = set(WebhookDelivery.objects.filter(pk__in=ids).values_list("webhook_id", flat=True))
    assert reached == {everything.sid, exact.sid}
