"""Verify Push end to end: the `twilio` SDK as the backend, the reference device as the app,
a real worker pushing to the fake FCM server, and the webhook at a receiver on loopback.

Enrol with an access token, verify the key, challenge with details and hidden details, get
the push (only the SIDs, the marker and the message), answer it from the push payload, and
see the outcome as the backend does: the challenge's status and a signed webhook.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.http import QueryDict
from twilio.request_validator import RequestValidator

from examples.push_device import ApiError, DeviceError
from tests.push import test_flow_support as flow
from tests.push.test_flow_support import (
    DETAILS_FIELDS,
    DETAILS_MESSAGE,
    FCM_TOKEN,
    HIDDEN,
    IDENTITY,
    as_json,
    enrol,
    form_params,
    new_device,
    pushes,
)
from tests.worker import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.usefixtures("push_worker"),
]

ROOT = Path(__file__).resolve().parents[2]

# The shared fixtures, bound in this module (one worker and one fake per module).
fcm_fake = flow.fcm_fake
push_worker = flow.push_worker
backend = flow.backend
receiver = flow.receiver


def webhook_of(hooks, type_: str, challenge_sid: str):
    """The first delivery of this event for this challenge (bounded wait)."""

    def found():
        for got in list(hooks.received):
            params = form_params(got.body)
            if params.get("type") == type_ and params.get("challenge_sid") == challenge_sid:
                return got
        return None

    return wait_for(found, timeout=30, what=f"{type_} webhook")


def assert_signed(hooks, got, auth_token: str) -> None:
    assert RequestValidator(auth_token).validate(
        hooks.url, QueryDict(got.body), got.headers["x-twilio-signature"]
    )


def test_enrol_verify_challenge_push_approve_and_signed_webhook(
    backend, live_server, fcm_fake, receiver, tmp_path
):
    backend.webhook(receiver.url)
    phone = new_device(tmp_path)
    factor = enrol(backend, phone, live_server.url)
    assert factor.sid.startswith("YF") and factor.account_sid == backend.account_sid
    seen = backend.entity().factors(factor.sid).fetch()
    assert (seen.status, seen.factor_type) == ("verified", "push")
    assert seen.config["notification_platform"] == "fcm"

    challenge = backend.challenge(factor.sid)
    assert challenge.status == "pending" and challenge.factor_type == "push"

    [push] = pushes(fcm_fake, challenge.sid)
    assert push.problems == [] and push.path.endswith("/messages:send")
    message = push.json["message"]
    assert message["token"] == FCM_TOKEN
    assert message["data"] == {
        "type": "verify_push_challenge",
        "challenge_sid": challenge.sid,
        "factor_sid": factor.sid,
        "message": DETAILS_MESSAGE,
    }
    sent = push.body.decode()
    for secret in [*HIDDEN.values(), *HIDDEN]:
        assert secret not in sent, "hidden details went to the provider"

    answered = phone.answer_push(push.body, "approved")
    assert answered["status"] == "approved"

    final = backend.entity().challenges(challenge.sid).fetch()
    assert final.status == "approved" and final.date_responded is not None
    assert final.responded_reason == "none"
    assert final.details["message"] == DETAILS_MESSAGE
    assert final.details["fields"] == DETAILS_FIELDS
    assert final.hidden_details == HIDDEN

    got = webhook_of(receiver, "challenge.approved", challenge.sid)
    assert_signed(receiver, got, backend.auth_token)
    params = form_params(got.body)
    assert params["factor_sid"] == factor.sid and params["factor_type"] == "push"
    assert params["entity_identity"] == IDENTITY and params["status"] == "approved"
    assert as_json(params["challenge_details"])["message"] == DETAILS_MESSAGE


def test_deny_from_the_push_payload_sends_the_denied_webhook(
    backend, live_server, fcm_fake, receiver, tmp_path
):
    backend.webhook(receiver.url)
    phone = new_device(tmp_path)
    factor = enrol(backend, phone, live_server.url)
    challenge = backend.challenge(factor.sid)
    [push] = pushes(fcm_fake, challenge.sid)

    assert phone.answer_push(push.json, "denied")["status"] == "denied"
    assert backend.entity().challenges(challenge.sid).fetch().status == "denied"
    got = webhook_of(receiver, "challenge.denied", challenge.sid)
    assert_signed(receiver, got, backend.auth_token)
    assert form_params(got.body)["status"] == "denied"
    # Answered once: a second answer, approve this time, is refused on the device already.
    with pytest.raises(DeviceError, match="already denied"):
        phone.answer(challenge.sid, "approved")


def test_notifications_endpoint_sends_the_push_again(backend, live_server, fcm_fake, tmp_path):
    phone = new_device(tmp_path)
    factor = enrol(backend, phone, live_server.url)
    challenge = backend.challenge(factor.sid)
    pushes(fcm_fake, challenge.sid, 1)

    notification = backend.entity().challenges(challenge.sid).notifications.create(ttl=120)
    assert notification.sid.startswith("NT") and notification.challenge_sid == challenge.sid
    assert notification.ttl == 120 and notification.priority == "high"
    first, second = pushes(fcm_fake, challenge.sid, 2)
    assert second.problems == [] and second.json["message"]["data"] == first.json["message"]["data"]
    assert second.json["message"]["android"]["ttl"] == "120s"
    # Either push answers the same challenge.
    assert phone.answer_push(second.body, "approved")["status"] == "approved"


def test_a_new_notification_token_receives_the_next_push(backend, live_server, fcm_fake, tmp_path):
    phone = new_device(tmp_path)
    factor = enrol(backend, phone, live_server.url)
    new_token = "fcm-rotated-token-" + "9f8e7d6c" * 4
    updated = phone.update_notification_token(new_token, platform="fcm")
    assert updated["config"]["notification_token"] == new_token

    challenge = backend.challenge(factor.sid)
    [push] = pushes(fcm_fake, challenge.sid)
    assert push.json["message"]["token"] == new_token


def test_expiry_on_the_platform_clock_then_the_device_cannot_answer(
    backend, live_server, fcm_fake, tmp_path, monkeypatch
):
    from verify_platform.lib import clock

    phone = new_device(tmp_path)
    factor = enrol(backend, phone, live_server.url)
    challenge = backend.challenge(factor.sid)
    [push] = pushes(fcm_fake, challenge.sid)
    signed_in_time = phone.answer_payload(phone.challenge(challenge.sid), "approved")

    # Five minutes is the default lifetime; the server's clock (in this process) moves past.
    monkeypatch.setattr(clock, "_offset", timedelta(minutes=5, seconds=5))
    assert backend.entity().challenges(challenge.sid).fetch().status == "expired"
    fetched = phone.challenge(challenge.sid)
    assert fetched.status == "expired"
    with pytest.raises(DeviceError, match="expired"):
        phone.answer_push(push.body, "approved")
    # An answer signed while it was pending is refused after the end, and changes nothing.
    with pytest.raises(ApiError) as refused:
        phone.post_answer(challenge.sid, signed_in_time)
    assert 400 <= refused.value.status < 500 and refused.value.code
    assert backend.entity().challenges(challenge.sid).fetch().status == "expired"


def test_the_command_line_device_enrols_and_approves_from_a_push_on_stdin(
    backend, live_server, fcm_fake, receiver, tmp_path
):
    backend.webhook(receiver.url)
    state = tmp_path / "cli-phone.json"

    def device(*args: str, stdin: str | None = None) -> dict:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "examples")}
        done = subprocess.run(
            [sys.executable, "-m", "push_device", "--state", str(state), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    token = backend.access_token()
    issued = json.dumps(
        {
            "token": token.token,
            "service_sid": token.service_sid,
            "entity_identity": token.entity_identity,
        }
    )
    enrolled = device(
        "enrol",
        "--base-url",
        f"{live_server.url}/v2/",
        "--access-token-json",
        "-",
        "--notification-token",
        FCM_TOKEN,
        stdin=issued,
    )
    assert "private_key_pem" not in enrolled
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert device("verify")["status"] == "verified"

    challenge = backend.challenge(enrolled["sid"])
    listed = device("challenges")
    assert [c["sid"] for c in listed["challenges"]] == [challenge.sid]
    shown = device("challenge", challenge.sid)
    assert shown["challenge"]["details"]["message"] == DETAILS_MESSAGE
    assert shown["signature_fields"]

    [push] = pushes(fcm_fake, challenge.sid)
    assert device("answer-push", "approve", stdin=push.body.decode())["status"] == "approved"
    assert device("challenges")["challenges"] == []
    assert_signed(
        receiver, webhook_of(receiver, "challenge.approved", challenge.sid), backend.auth_token
    )


def _rfc3339(value: object) -> bool:
    from datetime import datetime

    return isinstance(value, str) and datetime.fromisoformat(value.replace("Z", "+00:00")) > (
        datetime.fromisoformat("2000-01-01T00:00:00+00:00")
    )


def test_answers_carry_every_field_the_sdks_mappers_read(backend, live_server, tmp_path):
    """What Android's FactorMapper/ChallengeMapper/ChallengeListMapper and iOS's
    PushFactorDTO/ChallengeDTO/ChallengeListDTO decode (a missing or mistyped one is a
    mapper error in the app), read from the answers the device got."""
    phone = new_device(tmp_path)
    factor = enrol(backend, phone, live_server.url, notification_token=None)
    updated = phone.update_notification_token(FCM_TOKEN, platform="fcm")
    for key in ("sid", "friendly_name", "account_sid", "status"):
        assert isinstance(updated[key], str), key
    assert _rfc3339(updated["date_created"])
    assert updated["config"]["credential_sid"] == factor.credential_sid
    assert updated["config"]["notification_platform"] == "fcm"

    challenge = backend.challenge(factor.sid)
    fetched = phone.challenge(challenge.sid)
    body = fetched.body
    assert (body["sid"], body["factor_sid"], body["status"]) == (
        challenge.sid,
        factor.sid,
        "pending",
    )
    for key in ("date_created", "date_updated", "expiration_date"):
        assert _rfc3339(body[key]), key
    assert body["details"]["message"] == DETAILS_MESSAGE
    assert body["details"]["fields"] == DETAILS_FIELDS
    assert body["hidden_details"] == HIDDEN
    assert fetched.signature_fields and set(fetched.signature_fields) <= set(body)

    page = phone.challenges(page_size=1, status=None)
    assert [c["sid"] for c in page["challenges"]] == [challenge.sid]
    assert isinstance(page["meta"]["page"], int) and page["meta"]["page_size"] == 1
    listed = page["challenges"][0]
    assert listed["details"] == body["details"] and _rfc3339(listed["date_updated"])
