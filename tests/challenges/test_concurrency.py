"""Races on real PostgreSQL: many simultaneous answers, exactly one approval.

Each round releases 20 threads at once with a barrier; every thread uses its own database
connection and closes it when done. Rounds use a fresh factor so that the previous round's
failures (every loser counts as a failed attempt) do not throttle the next one.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from challenges import domain
from factors import domain as factor_domain
from factors.models import Factor
from services import domain as service_domain
from tests.factors.conftest import NOW, code_for, make_verified_factor
from verify_platform.lib.errors import VerifyError

THREADS = 20
ROUNDS = 20


def race(targets: list) -> list[list[str]]:
    """For each round, run `targets[round]()` in THREADS threads released together by a
    barrier. The same threads (and so the same connections) serve every round, which keeps
    the repeated races fast. Returns each round's outcomes."""
    barrier = threading.Barrier(THREADS, timeout=10)
    outcomes: list[list[str]] = [[] for _ in targets]
    lock = threading.Lock()

    def run() -> None:
        try:
            for round_no, target in enumerate(targets):
                barrier.wait()
                try:
                    result = target()
                except VerifyError as exc:
                    result = f"error {exc.code}"
                with lock:
                    outcomes[round_no].append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert all(len(o) == THREADS for o in outcomes), outcomes
    return outcomes


@pytest.fixture
def account(transactional_db):
    account, _ = service_domain.account_create(friendly_name="Race")
    return account


@pytest.mark.django_db(transaction=True)
def test_same_totp_code_approves_exactly_once(account):
    service = service_domain.service_create(account=account, friendly_name="Race")
    rounds = []
    for round_no in range(ROUNDS):
        now = NOW + timedelta(minutes=round_no)
        factor, secret = make_verified_factor(
            service, now=now, identity=f"race-user-{round_no:04d}"
        )
        code = code_for(factor, secret, now)

        def attempt(factor=factor, code=code, now=now) -> str:
            return domain.challenge_create(factor=factor, auth_payload=code, now=now).status

        rounds.append((factor, now, attempt))

    for (factor, now, _), outcomes in zip(rounds, race([r[2] for r in rounds]), strict=True):
        counts = Counter(outcomes)
        assert counts["approved"] == 1, counts
        # Losers saw a replay (pending) or, once five of them had failed, the throttle.
        assert set(counts) <= {"approved", "pending", "error 60310"}, counts
        stored = Factor.objects.get(pk=factor.pk)
        assert stored.last_accepted_step == code_and_step(factor, now)


def code_and_step(factor, now) -> int:
    from factors import totp

    return totp.step_at(now, factor.time_step)


@pytest.mark.django_db(transaction=True)
def test_same_recovery_code_approves_exactly_once(account):
    service = service_domain.service_create(account=account, friendly_name="Race")
    rounds = []
    for round_no in range(ROUNDS):
        recovery, binding = factor_domain.factor_create(
            service=service,
            identity=f"race-user-{round_no:04d}",
            factor_type="recovery_codes",
            friendly_name="Backup",
        )
        code = binding["codes"][round_no % 10]

        def attempt(factor=recovery, code=code) -> str:
            return domain.challenge_create(factor=factor, auth_payload=code, now=NOW).status

        rounds.append((recovery, attempt))

    for (recovery, _), outcomes in zip(rounds, race([r[1] for r in rounds]), strict=True):
        counts = Counter(outcomes)
        assert counts["approved"] == 1, counts
        assert set(counts) <= {"approved", "pending", "error 60310"}, counts
        assert recovery.recovery_codes.filter(date_used__isnull=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_codes_are_all_counted(account):
    """Parallel guesses cannot outrun the per-factor counter (RFC 4226 7.3)."""
    service = service_domain.service_create(account=account, friendly_name="Race")
    factor, secret = make_verified_factor(service)
    valid = {code_for(factor, secret, NOW, o) for o in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)

    def attempt() -> str:
        return domain.challenge_create(factor=factor, auth_payload=wrong, now=NOW).status

    outcomes = Counter(race([attempt])[0])
    # Five guesses are compared and counted; the rest meet the backoff gate.
    assert outcomes == Counter({"pending": 5, "error 60310": 15})
    assert Factor.objects.get(pk=factor.pk).consecutive_failures == 5


@pytest.mark.django_db(transaction=True)
def test_parallel_answers_to_one_challenge_count_exactly(account):
    service = service_domain.service_create(account=account, friendly_name="Race")
    factor, secret = make_verified_factor(service)
    challenge = domain.challenge_create(factor=factor, now=NOW)
    valid = {code_for(factor, secret, NOW, o) for o in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)

    def attempt() -> str:
        return domain.challenge_respond(challenge=challenge, auth_payload=wrong, now=NOW).status

    outcomes = Counter(race([attempt])[0])
    challenge.refresh_from_db()
    assert challenge.failed_attempts == 5 and challenge.status == "denied"
    assert outcomes["denied"] == 1
    assert outcomes["pending"] == 4
    assert outcomes["error 60308"] == 15
