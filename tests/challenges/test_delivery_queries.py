"""The statements of one send: the worker's throughput follows its round trips, so the count
is pinned here (deterministic; the benchmark measures the time)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from challenges import domain, sql
from challenges.models import DeliveryAttempt, Verification
from services.models import Event
from tests.challenges.conftest import MOBILE, outbox_codes
from verify_platform.lib import sids

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

# Claim (one UPDATE that locks the verification and returns the message), then the record of
# the plan's last step: sending -> sent and its event in one statement.
ONE_SEND = 2
# A step with a next one records under the verification's lock, in a transaction: SAVEPOINT
# (BEGIN outside a test), sending -> sent with the verification locked, the event, the INSERT
# of the next step's timer, the verification's `date_updated` moved (so a check that read it
# before takes the locked path and cancels that timer), RELEASE (COMMIT).
ONE_SEND_WITH_NEXT_STEP = 7


def first_attempt(verification) -> DeliveryAttempt:
    return DeliveryAttempt.objects.get(verification=verification, step=0)


def test_one_send_statements(service, django_assert_max_num_queries):
    verification = domain.verification_start(service=service, to=MOBILE, channel="sms", now=T0)
    attempt = first_attempt(verification)
    with django_assert_max_num_queries(ONE_SEND):
        assert domain.delivery_attempt_send(attempt_sid=attempt.sid, now=T0) == "sent"
    attempt.refresh_from_db()
    assert (attempt.status, attempt.tries, attempt.date_sent) == ("sent", 1, T0)
    assert attempt.lease_expires_at is None and attempt.adapter == "locmem"
    assert [(c, to) for c, to, _ in outbox_codes()] == [("sms", MOBILE)]
    # A single-step plan arms no timer.
    assert DeliveryAttempt.objects.filter(verification=verification).count() == 1
    event = Event.objects.get(type="delivery.sent", resource_sid=verification.sid)
    assert (event.account_id, event.service_id) == (service.account_id, service.sid)
    assert event.payload == {
        "verification_sid": verification.sid,
        "channel": "sms",
        "attempt_sid": attempt.sid,
        "attempt_channel": "sms",
        "send_number": 1,
        "step": 0,
        "status": "sent",
        "error_code": None,
    }


def test_send_that_arms_the_next_step_statements(service, django_assert_max_num_queries):
    service.fallback = [{"channel": "whatsapp", "timeout": 5}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    verification = domain.verification_start(service=service, to=MOBILE, channel="auto", now=T0)
    attempt = first_attempt(verification)
    with django_assert_max_num_queries(ONE_SEND_WITH_NEXT_STEP):
        assert domain.delivery_attempt_send(attempt_sid=attempt.sid, now=T0) == "sent"
    following = DeliveryAttempt.objects.get(verification=verification, step=1)
    assert (following.status, following.channel, following.send_number) == ("scheduled", "sms", 1)
    assert following.due_at == T0 + timedelta(seconds=5)
    assert following.deadline == verification.expires_at  # the last step runs to the expiry
    armed = Verification.objects.get(pk=verification.pk)
    assert armed.date_updated > verification.date_updated  # a check that read it before loses


def test_a_duplicate_send_is_skipped_without_writing(service):
    verification = domain.verification_start(service=service, to=MOBILE, channel="sms", now=T0)
    attempt = first_attempt(verification)
    assert domain.delivery_attempt_send(attempt_sid=attempt.sid, now=T0) == "sent"
    with CaptureQueriesContext(connection) as captured:
        assert domain.delivery_attempt_send(attempt_sid=attempt.sid, now=T0) == "skipped"
    writes = [q["sql"] for q in captured if q["sql"].lstrip().upper().startswith("INSERT")]
    assert writes == []
    assert len(outbox_codes()) == 1
    assert Event.objects.filter(type="delivery.sent").count() == 1


def _rows_read(plan: dict, relation: str) -> list[int]:
    """Per scan of `relation` in an EXPLAIN (ANALYZE, FORMAT JSON) plan: the rows it read
    (returned plus removed by its filter), per loop."""
    found = []
    if plan.get("Relation Name") == relation:
        read = plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
        found.append(read // max(plan["Actual Loops"], 1))
    for child in plan.get("Plans", []):
        found += _rows_read(child, relation)
    return found


def test_the_claim_reads_its_verification_by_key_whatever_the_statistics(service):
    """The claim runs once per send. With its pending and unexpired conditions on the
    verification's scan, PostgreSQL could choose the partial index of pending verifications
    by expiry and read every pending verification to find one: it did on tables never
    analysed (a new deployment before autovacuum's first pass, or autovacuum off), a send
    then costing a read of the whole pending set. Found by key only, there is nothing else
    to choose."""

    verification = domain.verification_start(service=service, to=MOBILE, channel="sms", now=T0)
    stored = Verification.objects.get(pk=verification.pk)
    others = []
    for i in range(300):
        other = copy.copy(stored)
        other.sid, other.to = sids.verification_sid(), f"+1415555{i:04d}"
        others.append(other)
    Verification.objects.bulk_create(others)
    attempt = first_attempt(verification)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + sql.ATTEMPT_CLAIM["verification"],
            {
                "sid": attempt.sid,
                "now": T0,
                "lease": T0 + timedelta(seconds=60),
                "sending": "sending",
                "first_fallback": False,
            },
        )
        plan = cursor.fetchone()[0]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    assert _rows_read(plan, "challenges_verification") == [1]
    assert _rows_read(plan, "challenges_deliveryattempt")  # the statement did claim it
    attempt.refresh_from_db()
    assert (attempt.status, attempt.tries) == ("sending", 1)
