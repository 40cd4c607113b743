"""Races on phone-factor challenges, on real PostgreSQL: 20 threads released together by a
barrier, each on its own connection (the `race` helper of the TOTP concurrency tests)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from challenges import domain
from challenges.models import Challenge, FactorCode
from factors.models import Factor
from services import domain as service_domain
from services.models import Event
from tests.challenges.conftest import MOBILE
from tests.challenges.test_concurrency import race
from tests.phone import enrolled_factor, last_code, wrong_code

ROUNDS = 5
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def service(transactional_db):
    account, _ = service_domain.account_create(friendly_name="Race")
    return service_domain.service_create(account=account, friendly_name="Race")


def _sent_challenge(service, identity: str):
    from tests.challenges.conftest import run_due

    factor = enrolled_factor(service, MOBILE, identity=identity, now=T0 - timedelta(hours=1))
    challenge = domain.challenge_create(factor=factor, now=T0)
    assert run_due(T0) == ["sent"]
    return factor, challenge, last_code(MOBILE)


@pytest.mark.django_db(transaction=True)
def test_twenty_correct_answers_approve_exactly_once(service):
    rounds = []
    for round_no in range(ROUNDS):
        factor, challenge, code = _sent_challenge(service, f"race-phone-{round_no:04d}")

        def attempt(challenge=challenge, code=code) -> str:
            return domain.challenge_respond(challenge=challenge, auth_payload=code, now=T0).status

        rounds.append((factor, challenge, attempt))

    for (factor, challenge, _), outcomes in zip(rounds, race([r[2] for r in rounds]), strict=True):
        counts = Counter(outcomes)
        assert counts == Counter({"approved": 1, "error 60322": 19}), counts
        assert Challenge.objects.get(pk=challenge.pk).status == "approved"
        assert FactorCode.objects.get(challenge_id=challenge.pk).status == "approved"
        assert Factor.objects.get(pk=factor.pk).consecutive_failures == 0
        approvals = Event.objects.filter(resource_sid=challenge.pk, type="challenge.approved")
        assert approvals.count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_wrong_answers_are_counted_exactly(service):
    factor, challenge, code = _sent_challenge(service, "race-phone-wrong")
    wrong = wrong_code(code)

    def attempt() -> str:
        return domain.challenge_respond(challenge=challenge, auth_payload=wrong, now=T0).status

    counts = Counter(race([attempt])[0])
    # Five answers are compared (the fifth denies); the rest meet the denied challenge or
    # the factor's backoff gate.
    assert counts["pending"] == 4 and counts["denied"] == 1, counts
    assert set(counts) <= {"pending", "denied", "error 60308", "error 60310"}, counts
    assert FactorCode.objects.get(challenge_id=challenge.pk).check_attempts == 5
    assert Factor.objects.get(pk=factor.pk).consecutive_failures == 5
