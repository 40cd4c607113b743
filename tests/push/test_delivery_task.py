"""The push notification task in this process (`.apply()`: Celery runs it and its retries
at once) against the fake providers: what leaves for a challenge, retries of temporary
failures, a token the provider calls gone, and what is never sent."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from challenges.models import Challenge
from challenges.push_tasks import push_notify_task
from factors.domain.push_tokens import push_token_mark_invalid
from factors.push_models import PushBinding
from tests.push_fakes import FakeAPNs, FakeFCM
from tests.push_support import (
    APP_ID,
    apn_credential,
    fcm_credential,
    point_settings,
    push_challenge,
    push_factor,
    wire_service,
)
from verify_platform.lib.clock import current_time

APNS_TOKEN = "c3" * 32
FCM_TOKEN = "fcm-" + "d4" * 60
SECRETS = ("HIDDEN-ORDER-4711", "FIELD-VALUE-0815", "META-SECRET-42")


@pytest.fixture
def fakes(settings):
    with FakeAPNs() as apns, FakeFCM() as fcm:
        point_settings(settings, apns=apns, fcm=fcm)
        yield apns, fcm


@pytest.fixture
def wired(service, tenant, fakes):
    apns, fcm = fakes
    wire_service(
        service, apn=apn_credential(tenant.account, apns), fcm=fcm_credential(tenant.account, fcm)
    )
    return service


def _run(challenge, ttl=None) -> str:
    return push_notify_task.apply(args=[challenge.sid, ttl]).get()


def _secret_challenge(factor):
    return push_challenge(
        factor,
        message="Approve login from Chrome?",
        details_fields=[{"label": "Order", "value": SECRETS[1]}],
        hidden_details={"order": SECRETS[0]},
        metadata={"note": SECRETS[2]},
    )


def test_apn_notification_carries_only_what_the_sdk_reads(wired, fakes):
    apns, _ = fakes
    factor = push_factor(wired, "alice", platform="apn", token=APNS_TOKEN)
    challenge = _secret_challenge(factor)
    assert _run(challenge) == "delivered"
    [sent] = apns.wait_for(1)
    assert sent.problems == [] and sent.token == APNS_TOKEN
    assert sent.headers["apns-topic"] == APP_ID
    assert sent.json == {
        "aps": {"alert": {"body": "Approve login from Chrome?"}, "sound": "default"},
        "type": "verify_push_challenge",
        "challenge_sid": challenge.sid,
        "factor_sid": factor.sid,
    }
    assert not any(secret.encode() in sent.body for secret in SECRETS)


def test_fcm_notification_carries_only_what_the_sdk_reads(wired, fakes):
    _, fcm = fakes
    factor = push_factor(wired, "bob", platform="fcm", token=FCM_TOKEN)
    challenge = _secret_challenge(factor)
    assert _run(challenge, ttl=60) == "delivered"
    [sent] = fcm.wait_for(1)
    assert sent.problems == [] and sent.token == FCM_TOKEN
    assert sent.json["message"]["data"] == {
        "type": "verify_push_challenge",
        "challenge_sid": challenge.sid,
        "factor_sid": factor.sid,
        "message": "Approve login from Chrome?",
    }
    assert sent.json["message"]["android"]["ttl"] == "60s"
    assert not any(secret.encode() in sent.body for secret in SECRETS)


def test_ttl_never_outlives_the_challenge(wired, fakes):
    _, fcm = fakes
    factor = push_factor(wired, "carol", platform="fcm", token=FCM_TOKEN)
    challenge = push_challenge(factor, seconds=30)
    assert _run(challenge, ttl=300) == "delivered"
    ttl = int(fcm.wait_for(1)[0].json["message"]["android"]["ttl"].rstrip("s"))
    assert 25 <= ttl <= 30


@pytest.mark.parametrize(("platform", "token"), [("apn", APNS_TOKEN), ("fcm", FCM_TOKEN)])
def test_a_temporary_failure_is_retried_then_delivered(wired, fakes, platform, token):
    fake = fakes[0] if platform == "apn" else fakes[1]
    factor = push_factor(wired, "dave", platform=platform, token=token)
    fake.fail_next("unavailable")
    assert _run(push_challenge(factor)) == "delivered"
    first, second = fake.wait_for(2)
    assert (first.status, second.status) == (503, 200)


def test_retries_stop_after_the_configured_count(wired, fakes, settings):
    apns, _ = fakes
    settings.VERIFY_PUSH = {**settings.VERIFY_PUSH, "MAX_RETRIES": 2}
    factor = push_factor(wired, "erin", platform="apn", token=APNS_TOKEN)
    apns.fail_next("unavailable", times=5)
    assert _run(push_challenge(factor)) == "temporary"
    assert [r.status for r in apns.requests] == [503, 503, 503]  # the first try and 2 retries


@pytest.mark.parametrize(
    ("platform", "token", "failure", "reason"),
    [
        ("apn", APNS_TOKEN, "gone", "Unregistered"),
        ("apn", APNS_TOKEN, "bad_token", "BadDeviceToken"),
        ("fcm", FCM_TOKEN, "gone", "UNREGISTERED"),
        ("fcm", FCM_TOKEN, "bad_token", "INVALID_ARGUMENT"),
    ],
)
def test_a_token_the_provider_calls_gone_is_recorded_and_not_sent_to_again(
    wired, fakes, platform, token, failure, reason
):
    fake = fakes[0] if platform == "apn" else fakes[1]
    factor = push_factor(wired, "frank", platform=platform, token=token)
    fake.fail_next(failure)
    assert _run(push_challenge(factor)) == "token_gone"
    binding = PushBinding.objects.get(factor=factor)
    assert binding.notification_token_invalid_at is not None
    assert binding.notification_token_invalid_reason == reason
    assert _run(push_challenge(factor)) == "skipped:token marked invalid"
    assert len(fake.requests) == 1


def test_a_new_token_is_not_marked_for_the_old_ones_failure(wired):
    factor = push_factor(wired, "gina", platform="apn", token=APNS_TOKEN)
    assert not push_token_mark_invalid(factor_sid=factor.sid, token="old-token", reason="Gone")
    assert PushBinding.objects.get(factor=factor).notification_token_invalid_at is None
    assert push_token_mark_invalid(factor_sid=factor.sid, token=APNS_TOKEN, reason="Gone")


def test_answered_expired_and_polling_challenges_send_nothing(wired, fakes):
    apns, fcm = fakes
    factor = push_factor(wired, "hank", platform="apn", token=APNS_TOKEN)
    answered = push_challenge(factor)
    Challenge.objects.filter(pk=answered.pk).update(status=Challenge.Status.APPROVED)
    expired = push_challenge(factor)
    Challenge.objects.filter(pk=expired.pk).update(expiration_date=current_time() - timedelta(1))
    polling = push_challenge(push_factor(wired, "ivy", platform="none", token=""))
    assert _run(answered) == "skipped:challenge not pending"
    assert _run(expired) == "skipped:challenge not pending"
    assert _run(polling) == "skipped:the app polls"
    assert apns.requests == [] and fcm.requests == []


def test_a_service_without_a_credential_for_the_platform_sends_nothing(service, fakes):
    apns, _ = fakes
    factor = push_factor(service, "jo", platform="apn", token=APNS_TOKEN)
    assert _run(push_challenge(factor)) == "skipped:no apn credential"
    assert apns.requests == []


def test_the_log_masks_the_device_token(wired, fakes, caplog):
    factor = push_factor(wired, "kim", platform="apn", token=APNS_TOKEN)
    with caplog.at_level("INFO"):
        assert _run(push_challenge(factor)) == "delivered"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "delivered" in text and APNS_TOKEN[-6:] in text
    assert APNS_TOKEN not in text and json.dumps(APNS_TOKEN)[1:-1] not in text
