"""A double-submitted login is not a guess: the code just accepted, sent again, is refused
(`pending`, as Twilio answers) without counting toward the factor's failure streak; a wrong
code, or a valid code of an earlier step, still counts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from challenges import domain
from factors.domain.codes import FREE_FAILURES
from factors.errors import FactorThrottled
from factors.models import Factor
from services import domain as service_domain
from tests.challenges.test_concurrency import THREADS, race
from tests.factors.conftest import NOW, code_for, make_verified_factor


def wrong_code(factor, secret, now) -> str:
    valid = {code_for(factor, secret, now, o) for o in range(-2, 3)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in valid)


def assert_throttles_after_free_failures(factor, wrong: str, now) -> None:
    """A wrong-code sequence meets the throttle at the same count as on a fresh factor."""
    for attempt in range(FREE_FAILURES):
        ch = domain.challenge_create(factor=factor, auth_payload=wrong, now=now)
        assert ch.status == "pending", attempt
    with pytest.raises(FactorThrottled):
        domain.challenge_create(factor=factor, auth_payload=wrong, now=now)


@pytest.mark.django_db(transaction=True)
def test_totp_replay_race_one_approval_and_no_failures_counted():
    account, _ = service_domain.account_create(friendly_name="Double submit")
    service = service_domain.service_create(account=account, friendly_name="Login")
    factor, secret = make_verified_factor(service, identity="double-submit-0001")
    code = code_for(factor, secret, NOW)

    def submit() -> str:
        return domain.challenge_create(factor=factor, auth_payload=code, now=NOW).status

    outcomes = Counter(race([submit])[0])
    assert outcomes == Counter({"approved": 1, "pending": THREADS - 1})
    stored = Factor.objects.get(pk=factor.pk)
    assert stored.consecutive_failures == 0
    assert stored.next_check_at is None and not stored.locked
    assert_throttles_after_free_failures(stored, wrong_code(factor, secret, NOW), NOW)


@pytest.mark.django_db
def test_totp_replay_resubmitted_code_answers_pending_uncounted_across_paths(service):
    factor, secret = make_verified_factor(service)
    code = code_for(factor, secret, NOW)
    assert domain.challenge_create(factor=factor, auth_payload=code, now=NOW).status == "approved"
    later = NOW + timedelta(seconds=5)  # same step
    again = domain.challenge_create(factor=factor, auth_payload=code, now=later)
    assert again.status == "pending" and again.date_responded is None
    # Answering another pending challenge with it: refused, counted nowhere.
    pending = domain.challenge_create(factor=factor, now=later)
    answered = domain.challenge_respond(challenge=pending, auth_payload=code, now=later)
    assert answered.status == "pending" and answered.failed_attempts == 0
    stored = Factor.objects.get(pk=factor.pk)
    assert stored.consecutive_failures == 0 and stored.next_check_at is None


@pytest.mark.django_db
def test_totp_replay_wrong_and_earlier_step_codes_still_count(service):
    factor, secret = make_verified_factor(service)
    # Step T+1 accepted: T's valid code is not the code just accepted, so it is a failure.
    newer = code_for(factor, secret, NOW, 1)
    assert domain.challenge_create(factor=factor, auth_payload=newer, now=NOW).status == "approved"
    earlier = domain.challenge_create(
        factor=factor, auth_payload=code_for(factor, secret, NOW), now=NOW
    )
    assert earlier.status == "pending" and earlier.failed_attempts == 1
    assert Factor.objects.get(pk=factor.pk).consecutive_failures == 1
    wrong = wrong_code(factor, secret, NOW)
    domain.challenge_create(factor=factor, auth_payload=wrong, now=NOW)
    assert Factor.objects.get(pk=factor.pk).consecutive_failures == 2
    # ... and the streak throttles at the usual count: three more wrong codes, then 429.
    for _ in range(FREE_FAILURES - 2):
        domain.challenge_create(factor=factor, auth_payload=wrong, now=NOW)
    with pytest.raises(FactorThrottled):
        domain.challenge_create(factor=factor, auth_payload=newer, now=NOW)
