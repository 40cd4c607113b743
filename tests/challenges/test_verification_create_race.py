"""The one-statement create against a check that is ending the pending verification at the
same moment: it waits for that check's row lock and then sees the committed status."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from challenges import domain
from challenges.errors import MaxCheckAttemptsReached
from challenges.models import MAX_CHECK_ATTEMPTS, Verification
from tests.challenges.conftest import MOBILE

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for_a_lock_wait(deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the start never waited for the check's lock")


@pytest.mark.parametrize(
    ("ending", "outcome"),
    [("max_attempts_reached", "60202"), ("approved", "created")],
)
def test_a_start_racing_the_end_of_the_pending_verification(service, ending, outcome):
    pending = domain.verification_start(service=service, to=MOBILE, channel="sms")
    holding, release = threading.Event(), threading.Event()
    results: list = []

    def check_ending_it() -> None:
        # What a check does to the row, holding its lock until told to commit.
        try:
            with transaction.atomic():
                Verification.objects.filter(pk=pending.sid).update(
                    status=ending, check_attempts=MAX_CHECK_ATTEMPTS
                )
                holding.set()
                assert release.wait(timeout=10)
        finally:
            connection.close()

    def start() -> None:
        try:
            results.append(domain.verification_start(service=service, to=MOBILE, channel="sms"))
        except MaxCheckAttemptsReached as exc:
            results.append(exc)
        finally:
            connection.close()

    checker = threading.Thread(target=check_ending_it)
    checker.start()
    assert holding.wait(timeout=10)
    starter = threading.Thread(target=start)
    starter.start()
    try:
        _wait_for_a_lock_wait()
    finally:
        release.set()
        checker.join(timeout=10)
        starter.join(timeout=10)
    assert not checker.is_alive() and not starter.is_alive()
    [result] = results
    if outcome == "60202":
        assert isinstance(result, MaxCheckAttemptsReached)
        assert Verification.objects.count() == 1
    else:
        assert isinstance(result, Verification) and result.sid != pending.sid
        assert Verification.objects.filter(status="pending").get().sid == result.sid
