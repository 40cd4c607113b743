"""The hot paths of the Verifications API in SQL statements (a deterministic figure, unlike a
time), and answers built in memory that match what was committed."""

from __future__ import annotations

import pytest

from challenges import domain, queries
from challenges.domain.verifications import _approve_unlocked
from challenges.models import MAX_CHECK_ATTEMPTS, DeliveryAttempt, Verification
from limits.models import DestinationThrottle
from services.models import Event
from tests.challenges.conftest import MOBILE
from tests.helpers import form
from verify_platform.lib.clock import current_time

pytestmark = pytest.mark.django_db

CODE = "424242"


def verifications_path(service) -> str:
    return f"/v2/Services/{service.sid}/Verifications"


def check_path(service) -> str:
    return f"/v2/Services/{service.sid}/VerificationCheck"


def test_a_create_is_few_statements(api, service, django_assert_max_num_queries):
    """Authentication, the service, the destination gate, and one statement that inserts
    the verification and its first attempt. A failing count means a re-read, a lookup or a
    transaction came back."""
    with django_assert_max_num_queries(4):
        resp = form(api, verifications_path(service), {"To": MOBILE, "Channel": "sms"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "pending" and body["to"] == MOBILE
    assert [a["channel"] for a in body["send_code_attempts"]] == ["sms"]
    assert DeliveryAttempt.objects.filter(verification_id=body["sid"]).count() == 1


def test_a_resend_is_few_statements(api, service, django_assert_max_num_queries):
    """The insert finds the pending verification, then one locking transaction resends it:
    its lock, the counted UPDATE, the cancel of superseded timers, the new attempt and the
    attempts for the answer (plus the savepoint pair of the test's transaction)."""
    first = form(api, verifications_path(service), {"To": MOBILE, "Channel": "sms"}).json()
    with django_assert_max_num_queries(11):
        resp = form(api, verifications_path(service), {"To": MOBILE, "Channel": "sms"})
    assert resp.status_code == 201
    assert resp.json()["sid"] == first["sid"]
    assert len(resp.json()["send_code_attempts"]) == 2
    assert Verification.objects.get(pk=first["sid"]).send_count == 2


def test_the_create_answer_is_what_was_committed(api, service):
    created = form(api, verifications_path(service), {"To": MOBILE, "Channel": "sms"}).json()
    fetched = api.get(f"{verifications_path(service)}/{created['sid']}").json()
    assert created == fetched


def test_the_resend_answer_is_what_was_committed(api, service):
    form(api, verifications_path(service), {"To": MOBILE, "Channel": "auto"})
    resent = form(api, verifications_path(service), {"To": MOBILE, "Channel": "sms"}).json()
    fetched = api.get(f"{verifications_path(service)}/{resent['sid']}").json()
    assert resent == fetched
    assert resent["channel"] == "sms" and len(resent["send_code_attempts"]) == 2


def test_a_correct_check_is_few_statements(api, service, django_assert_max_num_queries):
    """Authentication, the verification read (no lock, no transaction), and one statement
    for the compare-and-set on the row as read, the destination gate, the cancel of
    scheduled steps, the end of a streak and the event. No read-back."""
    verification = domain.verification_start(
        service=service, to=MOBILE, channel="sms", custom_code=CODE
    )
    with django_assert_max_num_queries(3):
        resp = form(api, check_path(service), {"To": MOBILE, "Code": CODE})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "approved" and body["valid"] is True
    stored = Verification.objects.get(pk=verification.sid)
    assert stored.status == "approved" and stored.code_sealed == ""
    assert body["date_updated"] == stored.date_updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert Event.objects.filter(
        resource_sid=verification.sid, type="verification.approved"
    ).exists()


def test_a_check_by_sid_is_few_statements(api, service, django_assert_max_num_queries):
    verification = domain.verification_start(
        service=service, to=MOBILE, channel="sms", custom_code=CODE
    )
    with django_assert_max_num_queries(3):
        resp = form(api, check_path(service), {"VerificationSid": verification.sid, "Code": CODE})
    assert resp.status_code == 201 and resp.json()["status"] == "approved"


def _read(service, tenant):
    return queries.verification_find_for_check(
        account=tenant.account, service_sid=service.sid, to=MOBILE, lock=False
    )


def test_a_check_without_the_lock_approves_the_row_as_read(service, tenant):
    domain.verification_start(service=service, to=MOBILE, channel="sms", custom_code=CODE)
    read = _read(service, tenant)
    assert _approve_unlocked(read, CODE, current_time())
    assert Verification.objects.get(pk=read.sid).status == "approved"


def test_a_check_that_read_before_a_step_was_armed_takes_the_locked_path(service, tenant):
    """The worker arms the next step (a new row the unlocked statement's snapshot cannot
    see) between a check's read and its write: the write loses, writes nothing, and the
    locked path approves and cancels that step, so no fallback goes out after approval."""
    service.fallback = [{"channel": "whatsapp", "timeout": 5}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    verification = domain.verification_start(
        service=service, to=MOBILE, channel="auto", custom_code=CODE
    )
    read = _read(service, tenant)
    first = DeliveryAttempt.objects.get(verification=verification, step=0)
    assert domain.delivery_attempt_send(attempt_sid=first.sid) == "sent"
    armed = DeliveryAttempt.objects.get(verification=verification, step=1)
    assert armed.status == "scheduled"

    assert not _approve_unlocked(read, CODE, current_time())
    stored = Verification.objects.get(pk=verification.sid)
    assert (stored.status, stored.check_attempts) == ("pending", 0)
    assert not Event.objects.filter(type="verification.approved").exists()

    checked = domain.verification_check_find(
        account=tenant.account, service_sid=service.sid, to=MOBILE, code=CODE
    )
    assert checked.status == "approved"
    armed.refresh_from_db()
    assert armed.status == "canceled"


def test_a_check_that_read_before_a_wrong_code_was_counted_takes_the_locked_path(service, tenant):
    domain.verification_start(service=service, to=MOBILE, channel="sms", custom_code=CODE)
    read = _read(service, tenant)
    for _ in range(MAX_CHECK_ATTEMPTS):
        domain.verification_check_find(
            account=tenant.account, service_sid=service.sid, to=MOBILE, code="000000"
        )
    assert not _approve_unlocked(read, CODE, current_time())
    assert Verification.objects.get(pk=read.sid).status == "max_attempts_reached"


def test_a_wrong_check_answers_the_committed_count(api, service):
    verification = domain.verification_start(
        service=service, to=MOBILE, channel="sms", custom_code=CODE
    )
    resp = form(api, check_path(service), {"To": MOBILE, "Code": "000000"})
    assert resp.status_code == 201 and resp.json()["status"] == "pending"
    stored = Verification.objects.get(pk=verification.sid)
    assert stored.check_attempts == 1
    assert resp.json()["date_updated"] == stored.date_updated.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_correct_check_after_a_failure_forgets_the_streak(api, service):
    """The reset is skipped only when no streak is on record; with one it still runs."""
    domain.verification_start(service=service, to=MOBILE, channel="sms", custom_code=CODE)
    form(api, check_path(service), {"To": MOBILE, "Code": "000000"})
    assert DestinationThrottle.objects.filter(service=service, to=MOBILE).exists()
    resp = form(api, check_path(service), {"To": MOBILE, "Code": CODE})
    assert resp.status_code == 201 and resp.json()["status"] == "approved"
    assert not DestinationThrottle.objects.filter(service=service, to=MOBILE).exists()
