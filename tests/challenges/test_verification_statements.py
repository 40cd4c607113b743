"""The hot paths of the Verifications API in SQL statements (a deterministic figure, unlike a
time), and answers built in memory that match what was committed."""

from __future__ import annotations

import pytest

from challenges import domain
from challenges.models import DeliveryAttempt, Verification
from limits.models import DestinationThrottle
from services.models import Event
from tests.challenges.conftest import MOBILE
from tests.helpers import form

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
    """Authentication, the verification found and locked in one read, and one statement
    for the compare-and-set, the destination gate, the cancel of scheduled steps, the end
    of a streak and the event (plus the savepoint pair). No read-back."""
    verification = domain.verification_start(
        service=service, to=MOBILE, channel="sms", custom_code=CODE
    )
    with django_assert_max_num_queries(5):
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
    with django_assert_max_num_queries(5):
        resp = form(api, check_path(service), {"VerificationSid": verification.sid, "Code": CODE})
    assert resp.status_code == 201 and resp.json()["status"] == "approved"


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
