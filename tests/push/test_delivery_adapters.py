"""The push adapters against the fake providers, which check each request's shape and
authentication: APNs over HTTP/2 with an ES256 provider token, FCM's HTTP v1 API with an
OAuth2 access token from the service account. No database: adapters know only settings."""

from __future__ import annotations

import dataclasses
import socket
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.push import (
    ApnCredential,
    FcmCredential,
    PushMessage,
    PushOutcome,
    adapter_for,
)
from tests.push_fakes import FakeAPNs, FakeFCM
from tests.push_support import APP_ID, PKCS8, apn_key, point_settings

APNS_TOKEN = "a1" * 32
FCM_TOKEN = "fcm-token-" + "b2" * 40
DATA = {
    "type": "verify_push_challenge",
    "challenge_sid": "YC" + "0" * 32,
    "factor_sid": "YF" + "1" * 32,
}


@pytest.fixture
def apns(settings):
    with FakeAPNs() as fake:
        point_settings(settings, apns=fake)
        yield fake


@pytest.fixture
def fcm(settings):
    with FakeFCM() as fake:
        point_settings(settings, fcm=fake)
        yield fake


def _apn_credential(apns: FakeAPNs | None, *, sandbox: bool = False) -> ApnCredential:
    pem, key = apn_key()
    if apns is not None:
        apns.register_key(
            key_id="KEY1234567", team_id="TEAM123456", public_key=key.public_key(), topic=APP_ID
        )
    return ApnCredential(
        sid="CR" + "a" * 32,
        key_id="KEY1234567",
        team_id="TEAM123456",
        private_key=pem,
        sandbox=sandbox,
    )


def _fcm_credential(fcm: FakeFCM, *, registered: bool = True) -> FcmCredential:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    email = "push@verify-push-test.iam.gserviceaccount.com"
    if registered:
        fcm.register_service_account(
            client_email=email,
            private_key_id="kid-1",
            public_key=key.public_key(),
            project_id="proj-1",
        )
    return FcmCredential(
        sid="CR" + "f" * 32,
        project_id="proj-1",
        client_email=email,
        private_key_id="kid-1",
        private_key=key.private_bytes(**PKCS8).decode(),
        token_uri=fcm.token_uri,
    )


def _apn_message(credential, *, ttl: int = 120) -> PushMessage:
    return PushMessage(
        platform="apn",
        token=APNS_TOKEN,
        topic=APP_ID,
        body="Approve login?",
        data=DATA,
        ttl=ttl,
        credential=credential,
    )


def _fcm_message(credential, *, ttl: int = 120) -> PushMessage:
    return PushMessage(
        platform="fcm",
        token=FCM_TOKEN,
        topic="",
        body="Approve login?",
        data={**DATA, "message": "Approve login?"},
        ttl=ttl,
        credential=credential,
    )


# --- APNs ---------------------------------------------------------------------------------


def test_apn_sends_an_alert_with_a_provider_token(apns):
    before = int(time.time())
    result = adapter_for("apn").send(_apn_message(_apn_credential(apns), ttl=120))
    [sent] = apns.wait_for(1)
    assert sent.problems == [] and sent.status == 200
    assert result.outcome == PushOutcome.DELIVERED and result.provider_id
    assert sent.path == f"/3/device/{APNS_TOKEN}"
    assert sent.headers["apns-topic"] == APP_ID and sent.headers["apns-push-type"] == "alert"
    assert before + 120 <= int(sent.headers["apns-expiration"]) <= int(time.time()) + 120
    assert sent.json == {"aps": {"alert": {"body": "Approve login?"}, "sound": "default"}, **DATA}


def test_apn_a_token_is_one_path_segment(apns):
    """A notification token is the app's text: quoted, it can never reach another path."""
    message = _apn_message(_apn_credential(apns))
    odd = dataclasses.replace(message, token="../../x?y=" + APNS_TOKEN)
    adapter_for("apn").send(odd)
    [sent] = apns.wait_for(1)
    assert sent.path == "/3/device/..%2F..%2Fx%3Fy%3D" + APNS_TOKEN


def test_apn_reuses_its_provider_token(apns):
    credential = _apn_credential(apns)
    for _ in range(2):
        assert adapter_for("apn").send(_apn_message(credential)).outcome == PushOutcome.DELIVERED
    first, second = apns.wait_for(2)
    assert first.headers["authorization"] == second.headers["authorization"]


def test_apn_a_key_apple_does_not_know_is_refused(apns):
    """The fake checks the JWT's signature: a key it was not given fails as at Apple."""
    result = adapter_for("apn").send(_apn_message(_apn_credential(None)))
    [sent] = apns.wait_for(1)
    assert sent.status == 403 and sent.problems
    assert result.outcome == PushOutcome.PERMANENT and result.reason == "InvalidProviderToken"


def test_apn_sandbox_credentials_go_to_the_sandbox_host(settings):
    with FakeAPNs() as production, FakeAPNs() as sandbox:
        point_settings(settings, apns=production)
        settings.VERIFY_PUSH = {**settings.VERIFY_PUSH, "APNS_SANDBOX_URL": sandbox.url}
        credential = _apn_credential(sandbox, sandbox=True)
        assert adapter_for("apn").send(_apn_message(credential)).outcome == PushOutcome.DELIVERED
        assert len(sandbox.wait_for(1)) == 1 and production.requests == []


@pytest.mark.parametrize(
    ("failure", "outcome", "reason"),
    [
        ("gone", PushOutcome.TOKEN_GONE, "Unregistered"),
        ("bad_token", PushOutcome.TOKEN_GONE, "BadDeviceToken"),
        ("unavailable", PushOutcome.TEMPORARY, "ServiceUnavailable"),
    ],
)
def test_apn_failures_are_classified(apns, failure, outcome, reason):
    apns.fail_next(failure)
    result = adapter_for("apn").send(_apn_message(_apn_credential(apns)))
    assert (result.outcome, result.reason) == (outcome, reason)


def test_a_provider_that_does_not_answer_is_a_temporary_failure(settings):
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings.VERIFY_PUSH = {**settings.VERIFY_PUSH, "APNS_URL": url, "TIMEOUT": 0.5}
        result = adapter_for("apn").send(_apn_message(_apn_credential(None)))
    finally:
        silent.close()
    assert result.outcome == PushOutcome.TEMPORARY


# --- FCM ----------------------------------------------------------------------------------


def test_fcm_sends_a_data_message_with_an_access_token(fcm):
    result = adapter_for("fcm").send(_fcm_message(_fcm_credential(fcm), ttl=90))
    [sent] = fcm.wait_for(1)
    [token_request] = fcm.token_requests
    assert token_request.problems == [] and sent.problems == [] and sent.status == 200
    assert result.outcome == PushOutcome.DELIVERED and result.provider_id.startswith("projects/")
    assert sent.path == "/v1/projects/proj-1/messages:send"
    assert sent.json == {
        "message": {
            "token": FCM_TOKEN,
            "data": {**DATA, "message": "Approve login?"},
            "android": {"ttl": "90s", "priority": "high"},
        }
    }


def test_fcm_keeps_its_access_token_until_near_expiry(fcm):
    credential = _fcm_credential(fcm)
    for _ in range(3):
        assert adapter_for("fcm").send(_fcm_message(credential)).outcome == PushOutcome.DELIVERED
    assert len(fcm.wait_for(3)) == 3 and len(fcm.token_requests) == 1


def test_fcm_a_service_account_google_does_not_know_is_refused(fcm):
    result = adapter_for("fcm").send(_fcm_message(_fcm_credential(fcm, registered=False)))
    assert result.outcome == PushOutcome.PERMANENT and fcm.requests == []
    assert fcm.token_requests[0].problems  # the fake checked the assertion's signature


@pytest.mark.parametrize(
    ("failure", "outcome", "reason"),
    [
        ("gone", PushOutcome.TOKEN_GONE, "UNREGISTERED"),
        ("bad_token", PushOutcome.TOKEN_GONE, "INVALID_ARGUMENT"),
        ("unavailable", PushOutcome.TEMPORARY, "UNAVAILABLE"),
    ],
)
def test_fcm_failures_are_classified(fcm, failure, outcome, reason):
    fcm.fail_next(failure)
    result = adapter_for("fcm").send(_fcm_message(_fcm_credential(fcm)))
    assert (result.outcome, result.reason) == (outcome, reason)


def test_none_sends_nothing():
    message = PushMessage(
        platform="none", token="", topic="", body="x", data=DATA, ttl=60, credential=None
    )
    assert adapter_for("none").send(message).outcome == PushOutcome.NOT_SENT


def test_the_device_token_stays_out_of_the_message_repr():
    assert APNS_TOKEN not in repr(_apn_message(_apn_credential(None)))
    assert "PRIVATE KEY" not in repr(_apn_credential(None))
