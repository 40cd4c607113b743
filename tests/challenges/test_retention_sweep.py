"""Retention: exactly the rows past their time go, never a live one, in bounded batches;
destinations are masked after the shorter time; 0 keeps everything."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from challenges.domain import retention as challenges_retention
from challenges.models import Challenge, DeliveryAttempt, FactorCode, Verification
from services import retention as services_retention
from services.models import Event, Webhook, WebhookDelivery
from tests.factors.conftest import NOW, make_verified_factor

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
_numbers = itertools.count(1000)

# Every kind at its own age, so a test can tell which setting removed what.
SETTINGS = {
    "EVENTS_DAYS": 90,
    "CHALLENGES_DAYS": 90,
    "VERIFICATIONS_DAYS": 30,
    "ATTEMPTS_DAYS": 20,
    "WEBHOOK_DELIVERIES_DAYS": 30,
    "FACTOR_CODES_DAYS": 7,
    "REDACT_DESTINATIONS_DAYS": 7,
    "BATCH_SIZE": 1000,
    "MAX_BATCHES": 100,
}
KEEP_ALL = {**SETTINGS, **{name: 0 for name in SETTINGS if name.endswith("_DAYS")}}


@pytest.fixture(autouse=True)
def retention_settings(settings):
    settings.VERIFY_RETENTION = dict(SETTINGS)
    return settings


# --- rows of any age ------------------------------------------------------------------------


def aged(model, row, created: datetime):
    model.objects.filter(pk=row.pk).update(date_created=created)
    row.date_created = created
    return row


def make_verification(service, *, days: float, status: str = "approved", to: str | None = None,
                      expires_at: datetime | None = None, now: datetime = NOW) -> Verification:  # fmt: skip
    created = now - days * DAY
    verification = Verification.objects.create(
        service=service,
        to=to or f"+4479111{next(_numbers):05d}",
        channel="sms",
        status=status,
        code_hash="0" * 64,
        code_salt="0" * 32,
        plan=[{"channel": "sms"}],
        expires_at=expires_at or created + timedelta(minutes=10),
    )
    return aged(Verification, verification, created)


def make_attempt(owner, *, days: float, status: str = "sent", send_number: int = 1,
                 now: datetime = NOW) -> DeliveryAttempt:  # fmt: skip
    created = now - days * DAY
    field = "factor_code" if isinstance(owner, FactorCode) else "verification"
    attempt = DeliveryAttempt.objects.create(
        **{field: owner},
        send_number=send_number,
        channel="sms",
        status=status,
        due_at=created,
        deadline=created + timedelta(minutes=10),
    )
    return aged(DeliveryAttempt, attempt, created)


def make_challenge(factor, *, days: float, status: str = "approved", now: datetime = NOW):
    created = now - days * DAY
    challenge = Challenge.objects.create(
        service=factor.service,
        entity=factor.entity,
        factor=factor,
        status=status,
        expiration_date=created + timedelta(minutes=5),
    )
    return aged(Challenge, challenge, created)


def make_code(factor, *, days: float, status: str = "approved", challenge=None,
              expires_at: datetime | None = None, now: datetime = NOW) -> FactorCode:  # fmt: skip
    created = now - days * DAY
    code = FactorCode.objects.create(
        service=factor.service,
        factor=factor,
        challenge=challenge,
        channel="sms",
        status=status,
        code_hash="0" * 64,
        code_salt="0" * 32,
        expires_at=expires_at or created + timedelta(minutes=10),
        budget_until=created + timedelta(minutes=10),
    )
    return aged(FactorCode, code, created)


def make_event(service, *, days: float, now: datetime = NOW) -> Event:
    event = Event.objects.create(
        account=service.account,
        service=service,
        type="verification.approved",
        resource_sid="VE" + "0" * 32,
        payload={},
    )
    return aged(Event, event, now - days * DAY)


def make_webhook(service) -> Webhook:
    return Webhook.objects.create(
        account=service.account,
        service=service,
        friendly_name="receiver",
        event_types=["*"],
        webhook_url="https://hooks.example.com/verify",
        secret_encrypted="unused",
    )


def make_delivery(webhook, event, *, status: str = "succeeded", completed_days: float | None = None,
                  now: datetime = NOW) -> WebhookDelivery:  # fmt: skip
    completed = None if completed_days is None else now - completed_days * DAY
    return WebhookDelivery.objects.create(
        webhook=webhook,
        event=event,
        resource_sid=event.resource_sid,
        status=status,
        next_attempt_at=completed or now,
        window_started_at=event.date_created,
        date_completed=completed,
    )


def left(model, rows) -> set:
    return set(model.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True))


def pks(*rows) -> set:
    return {r.pk for r in rows}


# --- challenges app -----------------------------------------------------------------------


def test_verifications_and_attempts_past_retention_go_and_live_ones_stay(service):
    gone = make_verification(service, days=31)
    gone_attempts = [make_attempt(gone, days=31, send_number=n) for n in (1, 2)]
    fresh = make_verification(service, days=29)
    # 29 days: the verification stays, its finished attempt is past ATTEMPTS_DAYS (20).
    fresh_old_attempt = make_attempt(fresh, days=29)
    fresh_new_attempt = make_attempt(fresh, days=19, send_number=2)
    pending = make_verification(service, days=60, status="pending")
    pending_attempt = make_attempt(pending, days=60, status="scheduled")
    # Failed, but its code may still be approved until it expires.
    answerable = make_verification(service, days=60, status="failed", expires_at=NOW + DAY)
    # Ended, but one of its steps is being sent right now.
    sending = make_verification(service, days=60, status="canceled")
    sending_attempt = make_attempt(sending, days=60, status="sending")

    counts = challenges_retention.retention_sweep(now=NOW)

    everything = [gone, fresh, pending, answerable, sending]
    assert left(Verification, everything) == pks(fresh, pending, answerable, sending)
    attempts = [*gone_attempts, fresh_old_attempt, fresh_new_attempt, pending_attempt,
                sending_attempt]  # fmt: skip
    assert left(DeliveryAttempt, attempts) == pks(fresh_new_attempt, pending_attempt,
                                                  sending_attempt)  # fmt: skip
    assert counts["verifications"] == 1 and counts["attempts"] == 3


def test_challenges_and_codes_past_retention_go_with_their_attempts(service):
    factor, _ = make_verified_factor(service)
    old = make_challenge(factor, days=91)
    old_code = make_code(factor, days=91, challenge=old)
    old_code_attempt = make_attempt(old_code, days=91, status="delivered")
    recent = make_challenge(factor, days=89)
    pending = make_challenge(factor, days=120, status="pending")
    # An approved challenge whose code is still pending is in use: both stay.
    in_use = make_challenge(factor, days=120)
    in_use_code = make_code(factor, days=120, challenge=in_use, status="pending")
    # Codes: ended and 8 days old go (with their attempts); pending or 6 days old stay.
    enrolment = make_code(factor, days=8)
    enrolment_attempt = make_attempt(enrolment, days=8)
    code_of_recent = make_code(factor, days=8, challenge=recent, status="expired")
    young = make_code(factor, days=6)
    pending_code = make_code(factor, days=30, status="pending")

    counts = challenges_retention.retention_sweep(now=NOW)

    assert left(Challenge, [old, recent, pending, in_use]) == pks(recent, pending, in_use)
    codes = [old_code, in_use_code, enrolment, code_of_recent, young, pending_code]
    assert left(FactorCode, codes) == pks(in_use_code, young, pending_code)
    assert left(DeliveryAttempt, [old_code_attempt, enrolment_attempt]) == set()
    assert counts["challenges"] == 1 and counts["factor_codes"] == 3


def test_destinations_are_masked_after_the_redaction_time_and_newer_ones_stay_clear(service):
    phone = make_verification(service, days=8, to="+14155550100")
    email = make_verification(service, days=8, to="alice.smith@mail.example.com", status="canceled")
    newer = make_verification(service, days=6, to="+14155550101")
    pending = make_verification(service, days=8, to="+14155550102", status="pending")

    counts = challenges_retention.retention_sweep(now=NOW)

    def to(row):
        return Verification.objects.get(pk=row.pk).to

    assert to(phone) == "+1******0100"
    assert to(email) == "a**********@m***.e******.com"
    assert (to(newer), to(pending)) == ("+14155550101", "+14155550102")
    assert counts["verifications_redacted"] == 2
    # A second run finds nothing left in clear past the time (the partial index's test).
    assert challenges_retention.retention_sweep(now=NOW)["verifications_redacted"] == 0
    assert to(phone) == "+1******0100"


def test_masked_verifications_are_the_ones_deleted_when_masking_comes_first(service):
    """With REDACT_DESTINATIONS_DAYS <= VERIFICATIONS_DAYS the deletion reads the index of
    masked rows: a row still in clear past both times is masked, then deleted, in one run."""
    old = make_verification(service, days=45, to="+14155550103")
    assert challenges_retention.retention_sweep(now=NOW)["verifications"] == 1
    assert not Verification.objects.filter(pk=old.pk).exists()


def test_without_masking_old_verifications_are_still_deleted(retention_settings, service):
    retention_settings.VERIFY_RETENTION = {**SETTINGS, "REDACT_DESTINATIONS_DAYS": 0}
    old = make_verification(service, days=45, to="+14155550104")
    kept = make_verification(service, days=10, to="+14155550105")
    counts = challenges_retention.retention_sweep(now=NOW)
    assert counts["verifications"] == 1 and counts["verifications_redacted"] == 0
    assert left(Verification, [old, kept]) == pks(kept)
    assert Verification.objects.get(pk=kept.pk).to == "+14155550105"


@pytest.mark.parametrize(
    ("to", "masked"),
    [
        ("+447911123456", "+4*******3456"),
        ("+14155550100", "+1******0100"),
        ("+29012345", "+2***2345"),
        ("x@y.io", "x*@y*.io"),
        ("a*b@example.com", "a**@e******.com"),
        ("root@localhost", "r***@l********"),
    ],
)
def test_mask_destination_hides_the_middle_and_is_idempotent(to, masked):
    assert challenges_retention.mask_destination(to) == masked
    assert challenges_retention.mask_destination(masked) == masked
    # The sweeps' SQL test agrees: masked, and the clear value not.
    query = f'SELECT {challenges_retention.MASKED} FROM (SELECT %s AS "to") AS v'
    with connection.cursor() as cursor:
        cursor.execute(query, [masked])
        assert cursor.fetchone()[0] is True
        cursor.execute(query, [to])
        assert cursor.fetchone()[0] is False


# --- services app -------------------------------------------------------------------------


def test_events_and_webhook_deliveries_past_retention_go_and_live_ones_stay(service):
    webhook = make_webhook(service)
    old = make_event(service, days=91)
    old_with_finished = make_event(service, days=91)
    finished_of_old = make_delivery(webhook, old_with_finished, completed_days=60)
    old_with_pending = make_event(service, days=91)
    pending = make_delivery(webhook, old_with_pending, status="pending")
    recent = make_event(service, days=89)
    long_done = make_delivery(webhook, recent, status="failed", completed_days=31)
    other_webhook = make_webhook(service)
    just_done = make_delivery(other_webhook, recent, completed_days=29)
    old_recent = make_event(service, days=60)
    sending = make_delivery(webhook, old_recent, status="sending")
    # Replayed ten days ago: the delivery is young, its event is not; it goes with the event.
    replayed = make_event(service, days=91)
    replay = make_delivery(webhook, replayed, completed_days=10)

    counts = services_retention.retention_sweep(now=NOW)

    events = [old, old_with_finished, old_with_pending, recent, old_recent, replayed]
    assert left(Event, events) == pks(old_with_pending, recent, old_recent)
    deliveries = [finished_of_old, pending, long_done, just_done, sending, replay]
    assert left(WebhookDelivery, deliveries) == pks(pending, just_done, sending)
    assert counts == {"webhook_deliveries": 2, "events": 3}


# --- batches and settings -----------------------------------------------------------------


def test_batches_of_two_take_several_statements_and_a_run_stops_at_max_batches(
    retention_settings, service
):
    retention_settings.VERIFY_RETENTION = {**SETTINGS, "BATCH_SIZE": 2, "MAX_BATCHES": 2}
    events = [make_event(service, days=100 + i) for i in range(5)]
    with CaptureQueriesContext(connection) as run:
        assert services_retention.retention_sweep(now=NOW)["events"] == 4
    deletes = [q for q in run.captured_queries if "DELETE FROM services_event" in q["sql"]]
    assert len(deletes) == 2
    # The oldest first: the newest of the five is what the next run finds.
    assert left(Event, events) == pks(events[0])
    retention_settings.VERIFY_RETENTION = {**SETTINGS, "BATCH_SIZE": 2, "MAX_BATCHES": 10}
    with CaptureQueriesContext(connection) as run:
        assert services_retention.retention_sweep(now=NOW)["events"] == 1
    assert len([q for q in run.captured_queries if "DELETE FROM services_event" in q["sql"]]) == 1
    assert left(Event, events) == set()

    verifications = [make_verification(service, days=40 + i) for i in range(5)]
    retention_settings.VERIFY_RETENTION = {**SETTINGS, "BATCH_SIZE": 2, "MAX_BATCHES": 10}
    with CaptureQueriesContext(connection) as run:
        counts = challenges_retention.retention_sweep(now=NOW)
    assert counts["verifications"] == 5 and counts["verifications_redacted"] == 5
    statements = [q["sql"] for q in run.captured_queries]
    # 2 + 2 + 1 in each sweep: three masking selects, three deletes.
    assert sum("DELETE FROM challenges_verification" in s for s in statements) == 3
    assert sum(s.lstrip().startswith('SELECT v.sid, v."to"') for s in statements) == 3
    assert left(Verification, verifications) == set()


def test_zero_keeps_everything(retention_settings, service):
    retention_settings.VERIFY_RETENTION = KEEP_ALL
    factor, _ = make_verified_factor(service)
    verification = make_verification(service, days=3000, to="+14155550106")
    rows = [
        (Verification, verification),
        (DeliveryAttempt, make_attempt(verification, days=3000)),
        (Challenge, challenge := make_challenge(factor, days=3000)),
        (FactorCode, make_code(factor, days=3000, challenge=challenge)),
        (Event, event := make_event(service, days=3000)),
        (WebhookDelivery, make_delivery(make_webhook(service), event, completed_days=3000)),
    ]
    counts = {
        **challenges_retention.retention_sweep(now=NOW),
        **services_retention.retention_sweep(now=NOW),
    }
    assert set(counts.values()) == {0}
    for model, row in rows:
        assert model.objects.filter(pk=row.pk).exists(), model
    assert Verification.objects.get(pk=verification.pk).to == "+14155550106"


# --- the sweeps use their indexes ---------------------------------------------------------


def plan(statement: str, params: dict) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("statement", "index"),
    [
        (challenges_retention.REDACT_SELECT, "verification_unmasked"),
        (challenges_retention.VERIFICATIONS_DELETE[True], "verification_masked"),
        (challenges_retention.VERIFICATIONS_DELETE[False], "verification_unmasked"),
        (challenges_retention.ATTEMPTS_DELETE, "attempt_created"),
        (challenges_retention.FACTOR_CODES_DELETE, "factor_code_ended"),
        (challenges_retention.CHALLENGES_DELETE, "challenge_ended"),
        (services_retention.DELIVERIES_DELETE, "webhook_delivery_finished"),
        (services_retention.EVENTS_DELETE, "services_ev_service_3d42d5_idx"),
    ],
)
def test_each_sweep_reads_an_index_of_its_own(statement, index):
    params = {
        "cutoff": NOW,
        "now": NOW,
        "limit": 1000,
        "live": ["scheduled", "sending"],
        "finished": ["succeeded"],
    }
    text = plan(statement, params)
    assert index in text, text


def test_finished_deliveries_are_every_status_but_the_live_ones():
    finished = {"succeeded", "failed", "canceled"}
    assert services_retention.FINISHED == "status IN ('succeeded', 'failed', 'canceled')"
    assert finished == set(WebhookDelivery.Status) - set(services_retention._LIVE)
