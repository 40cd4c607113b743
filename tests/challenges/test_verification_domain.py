"""The OTP engine's domain functions on a real PostgreSQL, with `now=` instead of sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from challenges import domain
from challenges.errors import MaxCheckAttemptsReached, MaxSendAttemptsReached
from challenges.models import DeliveryAttempt, Verification
from channels.base import ChannelPermanentError, ChannelTemporaryError, DeliveryStatus
from services.models import Event
from tests.challenges.conftest import MOBILE, outbox_codes, run_due
from verify_platform.lib.errors import InvalidParameter, NotFound

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
PLAN = [
    {"channel": "whatsapp", "timeout": 30},
    {"channel": "sms", "timeout": 60},
    {"channel": "call"},
]

pytestmark = pytest.mark.django_db


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def start(service, *, channel="sms", now=T0, **kwargs) -> Verification:
    return domain.verification_start(service=service, to=MOBILE, channel=channel, now=now, **kwargs)


def attempts(verification) -> list[tuple[int, int, str, str]]:
    return [
        (a.send_number, a.step, a.channel, a.status)
        for a in DeliveryAttempt.objects.filter(verification=verification).order_by(
            "send_number", "step"
        )
    ]


def events(verification) -> list[str]:
    return list(
        Event.objects.filter(resource_sid=verification.sid)
        .order_by("date_created", "sid")
        .values_list("type", flat=True)
    )


def sent_code() -> str:
    codes = {code for *_, code in outbox_codes()}
    assert len(codes) == 1, codes
    return codes.pop()


@pytest.fixture
def planned(service):
    service.fallback = PLAN
    service.save(update_fields=["fallback"])
    return service


def test_code_is_random_digits_of_service_length_and_stored_only_hashed(service):
    service.code_length = 8
    service.save(update_fields=["code_length"])
    verification = start(service)
    run_due(T0)
    code = sent_code()
    assert len(code) == 8 and code.isascii() and code.isdigit()
    verification.refresh_from_db()
    assert code not in verification.code_hash and code not in verification.code_sealed
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(v)::text FROM challenges_verification v")
        [[row]] = cursor.fetchall()
    assert code not in row
    domain.verification_check(verification=verification, code=code, now=at(1))
    verification.refresh_from_db()
    assert verification.status == "approved" and verification.code_sealed == ""
    assert events(verification)[-1] == "verification.approved"


def test_expiry_boundary_with_fixed_clock(service):
    verification = start(service)
    run_due(T0)
    code = sent_code()
    with pytest.raises(NotFound):
        domain.verification_check(verification=verification, code=code, now=at(600))
    verification.refresh_from_db()
    assert verification.status == "expired"
    assert "verification.expired" in events(verification)

    again = start(service, now=at(601))  # a new one is allowed after expiry
    assert again.sid != verification.sid
    assert (
        domain.verification_check(
            verification=again, code=sent_code_for(again, at(601)), now=at(1200)
        ).status
        == "approved"
    )


def sent_code_for(verification, now) -> str:
    from channels.adapters import locmem

    run_due(now)
    sids = set(
        DeliveryAttempt.objects.filter(verification=verification).values_list("sid", flat=True)
    )
    [code] = {m.code for m in locmem.outbox if m.attempt_sid in sids}
    return code


@pytest.mark.parametrize(("offset", "approved"), [(1, True), (-1, False)])
def test_expiry_decided_by_database_time(service, offset, approved):
    """Move the row, not the clock: the conditional UPDATE compares with PostgreSQL's now."""
    verification = start(service, now=None)
    run_due()
    code = sent_code()
    Verification.objects.filter(pk=verification.pk).update(
        expires_at=domain.current_time() + timedelta(seconds=offset)
    )
    if approved:
        assert domain.verification_check(verification=verification, code=code).status == "approved"
    else:
        with pytest.raises(NotFound):
            domain.verification_check(verification=verification, code=code)
        verification.refresh_from_db()
        assert verification.status == "expired"


def test_wrong_length_or_max_attempts(service):
    verification = start(service)
    with pytest.raises(InvalidParameter):
        domain.verification_check(verification=verification, code="12345", now=at(1))
    run_due(T0)
    code = sent_code()
    wrong = "000000" if code != "000000" else "111111"
    for n in range(1, 5):
        assert (
            domain.verification_check(verification=verification, code=wrong, now=at(n)).status
            == "pending"
        )
    result = domain.verification_check(verification=verification, code=wrong, now=at(5))
    assert result.status == "max_attempts_reached" and result.check_attempts == 5
    with pytest.raises(MaxCheckAttemptsReached):
        domain.verification_check(verification=verification, code=code, now=at(6))
    assert events(verification).count("verification.max_attempts_reached") == 1
    with pytest.raises(MaxCheckAttemptsReached) as exc:
        start(service, now=at(7))
    assert exc.value.retry_after == 593
    assert start(service, now=at(600)).sid != verification.sid  # after its lifetime


def test_resend_keeps_counters_and_code(service):
    verification = start(service)
    run_due(T0)
    code = sent_code()
    wrong = "000000" if code != "000000" else "111111"
    domain.verification_check(verification=verification, code=wrong, now=at(1))
    for n in range(2, 6):
        assert start(service, channel="call", now=at(n)).sid == verification.sid
    with pytest.raises(MaxSendAttemptsReached) as exc:
        start(service, now=at(6))
    assert exc.value.retry_after == 594
    run_due(at(7))
    verification.refresh_from_db()
    assert verification.check_attempts == 1 and verification.send_count == 5
    assert {c for *_, c in outbox_codes()} == {code} and len(outbox_codes()) == 5


def test_auto_follows_plan_with_timeouts_and_same_code(planned):
    verification = start(planned, channel="auto")
    assert verification.channel == "whatsapp"
    assert run_due(T0) == ["sent"]
    assert attempts(verification) == [(1, 0, "whatsapp", "sent"), (1, 1, "sms", "scheduled")]
    assert run_due(at(29)) == []  # the step's timeout has not passed
    assert run_due(at(30)) == ["sent"]
    assert run_due(at(89)) == []
    assert run_due(at(90)) == ["sent"]
    assert [c[0] for c in outbox_codes()] == ["whatsapp", "sms", "call"]
    assert len({c[2] for c in outbox_codes()}) == 1
    assert events(verification).count("delivery.fallback") == 2
    assert events(verification).count("delivery.sent") == 3


def test_approval_cancels_the_scheduled_step(planned, locmem_channels):
    verification = start(planned, channel="auto")
    run_due(T0)
    domain.verification_check(verification=verification, code=sent_code(), now=at(5))
    assert attempts(verification) == [(1, 0, "whatsapp", "sent"), (1, 1, "sms", "canceled")]
    sms = DeliveryAttempt.objects.get(verification=verification, step=1)
    assert domain.delivery_attempt_send(attempt_sid=sms.sid, now=at(31)) == "skipped"
    assert len(locmem_channels.outbox) == 1


def test_a_step_left_scheduled_after_the_end_is_closed_by_its_claim(planned, locmem_channels):
    """A step still `scheduled` on an ended verification (armed by a path that missed the end)
    is canceled when a task or the sweeper claims it, instead of being queued for ever."""
    verification = start(planned, channel="auto")
    run_due(T0)
    domain.verification_check(verification=verification, code=sent_code(), now=at(5))
    sms = DeliveryAttempt.objects.get(verification=verification, step=1)
    DeliveryAttempt.objects.filter(pk=sms.sid).update(status="scheduled")  # the stray step
    assert domain.delivery_attempt_send(attempt_sid=sms.sid, now=at(31)) == "skipped"
    assert attempts(verification)[1][3] == "canceled"
    assert run_due(at(60)) == [] and len(locmem_channels.outbox) == 1


def test_cancel_and_expiry_stop_everything(planned, locmem_channels):
    verification = start(planned, channel="auto")
    first = DeliveryAttempt.objects.get(verification=verification)
    domain.verification_cancel(verification=verification, now=at(1))
    assert domain.delivery_attempt_send(attempt_sid=first.sid, now=at(2)) == "skipped"
    assert locmem_channels.outbox == [] and attempts(verification)[0][3] == "canceled"
    assert events(verification) == ["verification.canceled"]
    verification.refresh_from_db()
    assert verification.code_sealed == ""

    other = domain.verification_start(
        service=planned, to="+5511987654321", channel="auto", now=at(10)
    )
    step = DeliveryAttempt.objects.get(verification=other)
    assert domain.delivery_attempt_send(attempt_sid=step.sid, now=at(700)) == "skipped"
    other.refresh_from_db()
    assert other.status == "expired" and locmem_channels.outbox == []


def test_permanent_error_falls_back_at_once(planned, locmem_channels):
    locmem_channels.script_failures("whatsapp", [ChannelPermanentError("no account", code="63003")])
    verification = start(planned, channel="auto")
    assert run_due(T0) == ["failed"]
    assert run_due(T0) == ["sent"]  # the sms step is due now, not after 30 s
    assert attempts(verification)[:2] == [(1, 0, "whatsapp", "failed"), (1, 1, "sms", "sent")]
    failed = DeliveryAttempt.objects.get(verification=verification, step=0)
    assert failed.error_code == "63003"
    assert "delivery.failed" in events(verification)


def test_temporary_error_retries_same_channel_with_backoff(planned, locmem_channels):
    locmem_channels.script_failures(
        "whatsapp", [ChannelTemporaryError("503"), ChannelTemporaryError("503")]
    )
    verification = start(planned, channel="auto")
    assert run_due(T0) == ["retry"]
    attempt = DeliveryAttempt.objects.get(verification=verification, step=0)
    assert attempt.status == "scheduled" and attempt.due_at == at(2) and attempt.tries == 1
    assert run_due(at(1)) == []
    assert run_due(at(2)) == ["retry"]
    attempt.refresh_from_db()
    assert attempt.due_at == at(6)  # doubled
    assert run_due(at(6)) == ["sent"]
    attempt.refresh_from_db()
    assert attempt.status == "sent" and attempt.tries == 3 and attempt.channel == "whatsapp"


def test_temporary_errors_past_the_window_fall_back(planned, locmem_channels):
    locmem_channels.script_failures("whatsapp", [ChannelTemporaryError("503")] * 10)
    verification = start(planned, channel="auto")
    moment, outcomes = T0, []
    for _ in range(10):
        outcomes += run_due(moment)
        if "failed" in outcomes:
            break
        moment = DeliveryAttempt.objects.get(verification=verification, step=0).due_at
    assert outcomes[-1] == "failed" and moment < at(30)
    assert attempts(verification)[1][1:] == (1, "sms", "scheduled")


def test_last_step_failing_fails_the_verification(service, locmem_channels):
    locmem_channels.script_failures("sms", [ChannelPermanentError("blocked")])
    verification = start(service)
    assert run_due(T0) == ["failed"]
    verification.refresh_from_db()
    assert verification.status == "failed"
    assert events(verification)[-1] == "verification.failed"


def test_status_callbacks_forward_only_duplicates_noop_failure_falls_back(planned):
    verification = start(planned, channel="auto")
    run_due(T0)
    whatsapp = DeliveryAttempt.objects.get(verification=verification, step=0)
    record = domain.delivery_status_record
    assert record(
        attempt_sid=whatsapp.sid,
        provider_message_id="SM1",
        status=DeliveryStatus.UNDELIVERED,
        error_code="63016",
        now=at(3),
    )
    assert not record(
        attempt_sid=whatsapp.sid,
        provider_message_id="SM1",
        status=DeliveryStatus.UNDELIVERED,
        error_code="63016",
        now=at(4),
    )
    assert not record(
        attempt_sid=whatsapp.sid,
        provider_message_id="SM1",
        status="delivered",
        error_code=None,
        now=at(5),
    )
    whatsapp.refresh_from_db()
    assert whatsapp.status == "undelivered" and whatsapp.error_code == "63016"
    sms = DeliveryAttempt.objects.get(verification=verification, step=1)
    assert sms.due_at == at(3)  # moved up from 30 s
    assert run_due(at(3)) == ["sent"]
    sms.refresh_from_db()
    assert record(
        attempt_sid=sms.sid,
        provider_message_id=None,
        status="delivered",
        error_code=None,
        now=at(6),
    )
    assert not record(
        attempt_sid=sms.sid, provider_message_id=None, status="sent", error_code=None, now=at(7)
    )
    assert not record(
        attempt_sid=sms.sid, provider_message_id=None, status="failed", error_code=None, now=at(8)
    )
    sms.refresh_from_db()
    assert sms.status == "delivered"
    assert not record(
        attempt_sid="VL" + "0" * 32, provider_message_id=None, status="failed", error_code=None
    )
    assert not record(
        attempt_sid=sms.sid, provider_message_id=None, status="bogus", error_code=None
    )


def test_lease_lets_a_stranded_send_be_taken_over(service, settings, locmem_channels):
    settings.VERIFY_DELIVERY_LEASE_SECONDS = 5
    verification = start(service)
    attempt = DeliveryAttempt.objects.get(verification=verification)
    # A worker claimed it and died before the adapter returned.
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(
        status="sending", lease_expires_at=at(5), tries=1
    )
    assert domain.delivery_attempt_send(attempt_sid=attempt.sid, now=at(4)) == "skipped"
    assert domain.delivery_attempt_sweep(now=at(4)) == []
    assert domain.delivery_attempt_sweep(now=at(5)) == [attempt.sid]
    assert domain.delivery_attempt_send(attempt_sid=attempt.sid, now=at(5)) == "sent"
    assert domain.delivery_attempt_send(attempt_sid=attempt.sid, now=at(6)) == "skipped"
    assert len(locmem_channels.outbox) == 1


def test_sweepers(service):
    verification = start(service)
    attempt = DeliveryAttempt.objects.get(verification=verification)
    assert domain.delivery_attempt_sweep(now=at(5)) == []  # the ETA task's turn first
    assert domain.delivery_attempt_sweep(now=at(10)) == [attempt.sid]
    assert domain.verification_expire_due(now=at(599)) == 0
    assert domain.verification_expire_due(now=at(600)) == 1
    verification.refresh_from_db()
    attempt.refresh_from_db()
    assert verification.status == "expired" and attempt.status == "canceled"
    assert domain.verification_expire_due(now=at(601)) == 0


def test_admin_resend(service, locmem_channels):
    verification = start(service)
    assert domain.verification_resend(verification=verification, now=at(1))
    run_due(at(1))
    assert len(locmem_channels.outbox) == 2
    domain.verification_cancel(verification=verification, now=at(2))
    assert not domain.verification_resend(verification=verification, now=at(3))


def test_broker_down_at_create_leaves_the_row_for_the_sweeper(
    service, monkeypatch, django_capture_on_commit_callbacks
):
    """The attempt row is the outbox: a create whose enqueue fails still succeeds, and the
    sweeper queues the attempt once the broker is back."""

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("challenges.enqueue.current_app.send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        verification = start(service)
    attempt = DeliveryAttempt.objects.get(verification=verification)
    assert attempt.status == "scheduled"

    queued: list[str] = []
    monkeypatch.setattr(
        "challenges.enqueue.current_app.send_task",
        lambda name, args, eta=None, **options: queued.append(args[0]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert domain.delivery_attempt_sweep(now=at(10)) == [attempt.sid]
    assert queued == [attempt.sid]


def test_nothing_is_queued_for_a_rolled_back_create(
    service, monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import transaction

    queued: list[str] = []
    monkeypatch.setattr(
        "challenges.enqueue.current_app.send_task",
        lambda name, args, eta=None, **options: queued.append(args[0]),
    )

    class Rollback(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Rollback),
        transaction.atomic(),
    ):
        start(service)
        raise Rollback
    assert callbacks == [] and queued == [] and not Verification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        start(service)
    assert len(callbacks) == 1 and len(queued) == 1


def test_a_malformed_plan_from_the_admin_degrades_instead_of_failing(service):
    service.fallback = [
        "sms",
        {"channel": "pigeon", "timeout": 5},
        {"channel": "whatsapp", "timeout": "soon"},
        {"timeout": 5},
        {"channel": "call"},
    ]
    service.save(update_fields=["fallback"])
    plan = domain.plan_for(service=service, channel="auto", to=MOBILE)
    assert plan == [{"channel": "whatsapp"}, {"channel": "call"}]
    verification = start(service, channel="auto")
    assert run_due(T0) == ["sent"]
    assert attempts(verification)[1][1:] == (1, "call", "scheduled")


def test_a_step_without_a_timeout_falls_back_after_the_default(service, locmem_channels):
    """Its retry window and its successor's timer are the same default: temporary errors
    cannot keep retrying the step until the code expires while the next channel waits."""
    from challenges.domain.engine import DEFAULT_STEP_TIMEOUT

    service.fallback = [{"channel": "whatsapp"}, {"channel": "sms"}]
    service.save(update_fields=["fallback"])
    verification = start(service, channel="auto")
    first = DeliveryAttempt.objects.get(verification=verification, step=0)
    assert first.deadline == at(DEFAULT_STEP_TIMEOUT)
    assert run_due(T0) == ["sent"]
    following = DeliveryAttempt.objects.get(verification=verification, step=1)
    assert following.due_at == at(DEFAULT_STEP_TIMEOUT)


def test_an_unexpected_adapter_error_stores_only_its_type(service, locmem_channels, caplog):
    """The attempt's error is shown by the API and the admin; an adapter bug's text could
    carry anything the adapter held, the code included. The log keeps its type and place."""
    locmem_channels.script_failures("sms", [ValueError("could not send 424242 to +1415")])
    verification = start(service)
    with caplog.at_level("ERROR", logger="challenges.delivery"):
        assert run_due(T0) == ["retry"]
    attempt = DeliveryAttempt.objects.get(verification=verification, step=0)
    assert attempt.error_message == "adapter error: ValueError"
    assert "ValueError" in caplog.text and "locmem" in caplog.text
    assert "424242" not in caplog.text and "+1415" not in caplog.text
