"""Challenge and factor domain rules with time passed in (`now=`), never slept through."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from challenges import domain
from challenges.errors import ChallengeAttemptsExceeded, ChallengeExpired
from challenges.models import Challenge
from factors import domain as factor_domain
from factors.errors import FactorLocked, FactorThrottled
from factors.models import Factor
from services.models import Event
from tests.factors.conftest import NOW, code_for, make_factor, make_verified_factor

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("skew", "offset", "approved"),
    [
        (1, -2, False),
        (1, -1, True),
        (1, 0, True),
        (1, 1, True),
        (1, 2, False),
        (0, -1, False),
        (0, 0, True),
        (0, 1, False),
        (2, -2, True),
        (2, 2, True),
        (2, 3, False),
    ],
)
def test_skew_boundaries(service, skew, offset, approved):
    factor, secret = make_verified_factor(service, skew=skew)
    ch = domain.challenge_create(
        factor=factor, auth_payload=code_for(factor, secret, NOW, offset), now=NOW
    )
    assert (ch.status == "approved") is approved


def test_step_boundary_inside_one_step(service):
    """The last second of a step and the first of the next are different steps."""
    factor, secret = make_verified_factor(service, skew=0)
    start = NOW.replace(second=0)  # a multiple of 30 s
    code = code_for(factor, secret, start)
    assert domain.challenge_create(factor=factor, auth_payload=code, now=start).status == "approved"
    last_second = start + timedelta(seconds=29)
    nxt = start + timedelta(seconds=30)
    assert (
        domain.challenge_create(factor=factor, auth_payload=code, now=last_second).status
        == "pending"
    )  # same step: replay
    assert (
        domain.challenge_create(factor=factor, auth_payload=code, now=nxt).status == "pending"
    )  # outside the window
    assert (
        domain.challenge_create(
            factor=factor, auth_payload=code_for(factor, secret, nxt), now=nxt
        ).status
        == "approved"
    )


def test_replay_and_earlier_steps_refused_across_challenges_and_enrolment(service, caplog):
    factor, secret = make_factor(service)
    enrol_code = code_for(factor, secret, NOW, 1)
    factor = factor_domain.factor_update(factor=factor, auth_payload=enrol_code, now=NOW)
    assert factor.status == "verified"
    assert factor.last_accepted_step is not None
    for offset in (1, 0, -1):  # T+1 was used by enrolment; T and T-1 are earlier
        ch = domain.challenge_create(
            factor=factor, auth_payload=code_for(factor, secret, NOW, offset), now=NOW
        )
        assert ch.status == "pending", offset
    replays = [r for r in caplog.records if r.name == "verify_platform.factors"]
    assert len(replays) == 3 and all(factor.sid in r.getMessage() for r in replays)
    assert all(enrol_code not in r.getMessage() for r in replays)
    later = NOW + timedelta(seconds=30)
    ch = domain.challenge_create(
        factor=factor, auth_payload=code_for(factor, secret, later, 1), now=later
    )
    assert ch.status == "approved"


def test_sha256_eight_digits(service):
    factor, secret = make_verified_factor(service, alg="sha256", code_length=8)
    code = code_for(factor, secret, NOW)
    assert len(code) == 8
    assert domain.challenge_create(factor=factor, auth_payload=code, now=NOW).status == "approved"


def test_time_step_change_cannot_reopen_used_time(service):
    factor, secret = make_verified_factor(service, time_step=30, skew=0)
    ch = domain.challenge_create(factor=factor, auth_payload=code_for(factor, secret, NOW), now=NOW)
    assert ch.status == "approved"
    factor = factor_domain.factor_update(factor=factor, config={"time_step": 60}, now=NOW)
    # The 60 s step containing NOW overlaps time already accepted under 30 s steps.
    code60 = code_for(factor, secret, NOW)
    assert domain.challenge_create(factor=factor, auth_payload=code60, now=NOW).status == "pending"


def test_expiry_boundaries_and_events(service, verified_factor):
    factor, secret = verified_factor
    ch = domain.challenge_create(factor=factor, now=NOW)
    expires = ch.expiration_date
    assert expires == NOW + timedelta(minutes=5)

    # One second before expiry the right code approves.
    before = expires - timedelta(seconds=1)
    done = domain.challenge_respond(
        challenge=ch, auth_payload=code_for(factor, secret, before), now=before
    )
    assert done.status == "approved" and done.date_responded == before

    # At the expiration instant it is expired, the code refused, and the event written.
    late = domain.challenge_create(factor=factor, now=NOW)
    at = late.expiration_date
    assert late.status_at(at - timedelta(seconds=1)) == "pending"
    assert late.status_at(at) == "expired"
    with pytest.raises(ChallengeExpired) as exc:
        domain.challenge_respond(
            challenge=late, auth_payload=code_for(factor, secret, at, 1), now=at
        )
    assert exc.value.status == 403 and exc.value.code == 60323
    late.refresh_from_db()
    assert late.status == "expired"
    assert list(Event.objects.filter(resource_sid=late.sid).values_list("type", flat=True)) == [
        "challenge.expired"
    ]
    # The refused answer was not counted against the factor.
    assert Factor.objects.get(pk=factor.pk).consecutive_failures == 0


def test_expiration_date_limits(verified_factor):
    factor, _ = verified_factor
    ok = domain.challenge_create(
        factor=factor, expiration_date=NOW + timedelta(minutes=60), now=NOW
    )
    assert ok.expiration_date == NOW + timedelta(minutes=60)
    for bad in (NOW, NOW - timedelta(seconds=1), NOW + timedelta(minutes=60, seconds=1)):
        with pytest.raises(Exception) as exc:
            domain.challenge_create(factor=factor, expiration_date=bad, now=NOW)
        assert exc.value.status == 400 and exc.value.code == 60200


def test_sweeper_expires_only_overdue(verified_factor):
    factor, _ = verified_factor
    due = domain.challenge_create(factor=factor, now=NOW)
    not_due = domain.challenge_create(
        factor=factor, expiration_date=NOW + timedelta(minutes=30), now=NOW
    )
    sweep_at = NOW + timedelta(minutes=5)
    assert domain.challenge_expire_due(now=sweep_at) == 1
    assert domain.challenge_expire_due(now=sweep_at) == 0  # idempotent
    due.refresh_from_db()
    not_due.refresh_from_db()
    assert (due.status, not_due.status) == ("expired", "pending")
    assert Event.objects.filter(type="challenge.expired", resource_sid=due.sid).count() == 1


def test_fetch_writes_expiry(verified_factor):
    factor, _ = verified_factor
    ch = domain.challenge_create(factor=factor, now=NOW)
    same = domain.challenge_expire_if_due(challenge=ch, now=NOW + timedelta(minutes=4))
    assert same.status == "pending"
    gone = domain.challenge_expire_if_due(challenge=ch, now=NOW + timedelta(minutes=5))
    assert gone.status == "expired"


def test_five_wrong_deny_and_count(verified_factor):
    factor, secret = verified_factor
    wrong = next(
        c
        for c in ("000000", "111111", "222222")
        if all(c != code_for(factor, secret, NOW, o) for o in (-1, 0, 1))
    )
    ch = domain.challenge_create(factor=factor, auth_payload=wrong, now=NOW)
    assert ch.status == "pending" and ch.failed_attempts == 1
    for i in range(3):
        ch = domain.challenge_respond(challenge=ch, auth_payload=wrong, now=NOW)
        assert ch.status == "pending" and ch.failed_attempts == i + 2
    ch = domain.challenge_respond(challenge=ch, auth_payload=wrong, now=NOW)
    assert ch.status == "denied" and ch.failed_attempts == 5
    later = NOW + timedelta(hours=2)  # past any factor backoff
    with pytest.raises(ChallengeAttemptsExceeded) as exc:
        domain.challenge_respond(
            challenge=ch, auth_payload=code_for(factor, secret, later), now=later
        )
    assert exc.value.status == 429 and exc.value.code == 60308
    assert list(Event.objects.filter(resource_sid=ch.sid).values_list("type", flat=True)) == [
        "challenge.denied"
    ]


def test_factor_backoff_grows_and_success_resets(verified_factor):
    factor, secret = verified_factor
    t = NOW
    wrong = "000000" if code_for(factor, secret, t) != "000000" else "111111"

    def attempt(payload, when):
        ch = domain.challenge_create(factor=factor, now=when)
        return domain.challenge_respond(challenge=ch, auth_payload=payload, now=when)

    for _ in range(4):
        attempt(wrong, t)  # no wait for the first failures
    attempt(wrong, t)  # the 5th failure starts the backoff: 1 s
    with pytest.raises(FactorThrottled) as exc:
        attempt(code_for(factor, secret, t), t)
    assert exc.value.status == 429 and exc.value.code == 60310 and exc.value.retry_after == 1
    # A throttled request is neither compared nor counted.
    assert Factor.objects.get(pk=factor.pk).consecutive_failures == 5
    t += timedelta(seconds=1)
    attempt(wrong, t)  # 6th -> 2 s
    with pytest.raises(FactorThrottled) as exc:
        attempt(wrong, t + timedelta(seconds=1))
    assert exc.value.retry_after == 1
    t += timedelta(seconds=2)
    attempt(wrong, t)  # 7th -> 4 s
    with pytest.raises(FactorThrottled) as exc:
        attempt(wrong, t)
    assert exc.value.retry_after == 4
    t += timedelta(seconds=4)
    ok = attempt(code_for(factor, secret, t), t)
    assert ok.status == "approved"
    fresh = Factor.objects.get(pk=factor.pk)
    assert (fresh.consecutive_failures, fresh.next_check_at) == (0, None)
    assert fresh.date_last_used == t


def test_lock_after_100_refuses_the_correct_code_until_unlocked(verified_factor):
    factor, secret = verified_factor
    t = NOW
    for i in range(100):  # bounded: exactly the NIST ceiling
        wrong = "000000" if code_for(factor, secret, t) != "000000" else "111111"
        ch = domain.challenge_create(factor=factor, now=t)
        domain.challenge_respond(challenge=ch, auth_payload=wrong, now=t)
        current = Factor.objects.get(pk=factor.pk)
        assert current.consecutive_failures == i + 1
        assert current.locked is (i + 1 >= 100)
        if current.next_check_at:
            t = current.next_check_at
    t += timedelta(days=30)  # no amount of waiting lifts a lock
    with pytest.raises(FactorLocked) as exc:
        domain.challenge_create(factor=factor, auth_payload=code_for(factor, secret, t), now=t)
    assert exc.value.status == 429 and exc.value.code == 60310 and exc.value.retry_after is None
    assert factor_domain.factor_unlock(factor=factor) is True
    assert factor_domain.factor_unlock(factor=factor) is False
    ch = domain.challenge_create(factor=factor, auth_payload=code_for(factor, secret, t), now=t)
    assert ch.status == "approved"


def test_recovery_code_on_totp_factor_and_single_use(service, verified_factor):
    factor, _ = verified_factor
    recovery, binding = factor_domain.factor_create(
        service=service, identity=factor.entity.identity, factor_type="recovery_codes",
        friendly_name="Backup",
    )  # fmt: skip
    code = binding["codes"][0]
    ch = domain.challenge_create(factor=factor, auth_payload=code, now=NOW)
    assert ch.status == "approved"
    again = domain.challenge_create(factor=recovery, auth_payload=code.lower(), now=NOW)
    assert again.status == "pending"


def test_events_for_every_transition_and_no_secrets(service):
    factor, secret = make_factor(service)
    factor = factor_domain.factor_update(
        factor=factor, auth_payload=code_for(factor, secret, NOW), now=NOW
    )
    ok = domain.challenge_create(
        factor=factor,
        auth_payload=code_for(factor, secret, NOW, 1),
        details_message="Login",
        hidden_details={"ip": "1.2.3.4"},
        now=NOW,
    )
    assert ok.status == "approved"
    factor_domain.factor_delete(
        factor=Factor.objects.select_related("service", "entity").get(pk=factor.pk)
    )
    events = list(Event.objects.filter(service=service).order_by("date_created", "sid"))
    types = [e.type for e in events]
    assert types == ["factor.created", "factor.verified", "challenge.approved", "factor.deleted"]
    approved = next(e for e in events if e.type == "challenge.approved")
    assert approved.resource_sid == ok.sid
    assert approved.payload["entity_identity"] == factor.entity.identity
    assert approved.payload["factor_sid"] == factor.sid
    assert approved.payload["factor_type"] == "totp"
    assert approved.payload["factor_friendly_name"] == "Phone"
    assert approved.payload["challenge_sid"] == ok.sid
    assert approved.payload["status"] == "approved"
    assert approved.payload["challenge_hidden_details"] == {"ip": "1.2.3.4"}
    dumped = json.dumps([e.payload for e in events])
    assert secret not in dumped
    for offset in (-1, 0, 1, 2):
        assert code_for(factor, secret, NOW, offset) not in dumped
    # The challenge outlives its factor (the audit trail), still naming it.
    assert Challenge.objects.filter(pk=ok.pk, factor_id=factor.sid).count() == 1


def test_an_optimistic_approval_loses_to_a_concurrent_config_change(service):
    """A step computed with the time step the caller read must not be booked once the factor
    counts in another unit: it would make every later code look replayed."""
    from factors.models import Factor

    factor, secret = make_verified_factor(service)
    Factor.objects.filter(pk=factor.pk).update(time_step=60)  # committed meanwhile
    before = Factor.objects.get(pk=factor.pk).last_accepted_step
    from django.db import connection

    from factors import sql as factor_sql

    code = code_for(factor, secret, NOW)  # valid for the 30 s step the caller read
    step = factor_domain.factor_totp_step(factor=factor, payload=code, now=NOW)
    assert step is not None
    with connection.cursor() as cursor:
        cursor.execute(factor_sql.TOTP_STEP_BOOK, factor_domain.totp_step_params(factor, step, NOW))
        assert cursor.fetchone() is None
    assert Factor.objects.get(pk=factor.pk).last_accepted_step == before
