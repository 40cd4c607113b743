"""Races decided by PostgreSQL: threads released together by a barrier, one connection each."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from challenges.models import DeliveryAttempt, Verification
from tests.challenges.conftest import MOBILE, run_due
from tests.conftest import api_client
from tests.helpers import form

pytestmark = pytest.mark.django_db(transaction=True)


def race(count: int, call) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return results


def test_ten_concurrent_creates_to_one_destination_make_one_verification(tenant, service):
    path = f"/v2/Services/{service.sid}/Verifications"

    def create(_):
        response = form(api_client(tenant), path, {"To": MOBILE, "Channel": "sms"})
        return response.status_code, response.json()

    results = race(10, create)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 5, 429: 5}, results
    assert {body["code"] for status, body in results if status == 429} == {60203}
    assert len({body["sid"] for status, body in results if status == 201}) == 1
    [verification] = Verification.objects.all()
    assert verification.send_count == 5
    assert DeliveryAttempt.objects.filter(verification=verification).count() == 5


def test_twenty_concurrent_correct_checks_approve_once(tenant, service, locmem_channels):
    response = form(
        api_client(tenant),
        f"/v2/Services/{service.sid}/Verifications",
        {"To": MOBILE, "Channel": "sms"},
    )
    assert response.status_code == 201
    run_due()
    [message] = locmem_channels.outbox
    path = f"/v2/Services/{service.sid}/VerificationCheck"

    def check(_):
        response = form(api_client(tenant), path, {"To": MOBILE, "Code": message.code})
        return response.status_code, response.json()

    results = race(20, check)
    approved = [body for status, body in results if status == 201]
    assert len(approved) == 1 and approved[0]["status"] == "approved", results
    assert Counter(status for status, _ in results) == {201: 1, 404: 19}
    assert {body["code"] for status, body in results if status == 404} == {20404}
    from services.models import Event

    assert Event.objects.filter(type="verification.approved").count() == 1


def test_twenty_concurrent_wrong_checks_count_exactly(tenant, service, locmem_channels):
    form(
        api_client(tenant),
        f"/v2/Services/{service.sid}/Verifications",
        {"To": MOBILE, "Channel": "sms"},
    )
    run_due()
    [message] = locmem_channels.outbox
    wrong = "000000" if message.code != "000000" else "111111"
    path = f"/v2/Services/{service.sid}/VerificationCheck"

    def check(_):
        response = form(api_client(tenant), path, {"To": MOBILE, "Code": wrong})
        return response.status_code, response.json()

    results = race(20, check)
    assert Counter(status for status, _ in results) == {201: 5, 429: 15}, results
    verification = Verification.objects.get()
    assert verification.check_attempts == 5 and verification.status == "max_attempts_reached"
    # Locked: the right code is refused too.
    response = form(api_client(tenant), path, {"To": MOBILE, "Code": message.code})
    assert response.status_code == 429 and response.json()["code"] == 60202
