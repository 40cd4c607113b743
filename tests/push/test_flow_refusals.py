"""Verify Push end to end, the refusals: a tampered answer, a key that is not the factor's,
a replayed answer, another entity's credential, another tenant's SIDs, a device clock that
is off. The backend is the `twilio` SDK, the app the reference device, and pushes go through
a real worker to the fake FCM server, as in test_flow_approve.py.

Each refusal is a Twilio-shaped error and leaves the challenge as it was; where it matters the
same challenge is then answered correctly, so the refusal was about the answer, not about a
challenge that could no longer be answered.
"""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
import requests

from examples.push_device import ApiError, Device, DeviceError, DeviceKey
from examples.push_device.tokens import answer_token, auth_token
from examples.push_device.transport import basic
from tests.push import test_flow_support as flow
from tests.push.test_flow_support import (
    IDENTITY,
    OTHER_IDENTITY,
    Backend,
    enrol,
    new_device,
    pushes,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.usefixtures("push_worker"),
]

fcm_fake = flow.fcm_fake
push_worker = flow.push_worker
backend = flow.backend


def refused(call, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    error = caught.value
    assert 400 <= error.status < 500, error
    assert set(error.body) >= {"code", "message", "more_info", "status"}, error.body
    assert error.body["status"] == error.status
    return error


def status_of(backend: Backend, challenge_sid: str, identity: str = IDENTITY) -> str:
    return backend.entity(identity).challenges(challenge_sid).fetch().status


def device_jwt(device: Device, factor_sid: str, key: DeviceKey | None = None) -> str:
    """The request token of `factor_sid`'s device, or one signed by another `key`."""
    record = device.factor(factor_sid)
    return auth_token(
        key or DeviceKey.from_pem(record.private_key_pem),
        credential_sid=record.credential_sid,
        account_sid=record.account_sid,
        now=int(time.time()),
    )


def raw(method: str, url: str, password: str, **kwargs) -> requests.Response:
    """A request with a hand-made `token:` credential, as the SDKs send it."""
    headers = {"Authorization": basic(password), "Accept": "application/json"}
    return requests.request(method, url, headers=headers, timeout=15, **kwargs)


def challenge_url(base: str, service_sid: str, identity: str, challenge_sid: str = "") -> str:
    url = f"{base}/v2/Services/{service_sid}/Entities/{identity}/Challenges"
    return f"{url}/{challenge_sid}" if challenge_sid else url


def reencoded(token: str, **claims) -> str:
    """The same header and signature over changed claims (a forgery that keeps the bytes)."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded.update(claims)
    body = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def test_a_tampered_answer_is_refused_and_the_challenge_stays_pending(
    backend, live_server, fcm_fake, tmp_path
):
    phone = new_device(tmp_path)
    factor = enrol(backend, phone, live_server.url)
    challenge = backend.challenge(factor.sid)
    [push] = pushes(fcm_fake, challenge.sid)
    fetched = phone.challenge(challenge.sid)
    denial = phone.answer_payload(fetched, "denied")
    header, payload, signature = denial.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    forgeries = [
        f"{header}.{payload}.{flipped}",  # the signature's bytes changed
        reencoded(denial, status="approved"),  # a denial's signature over an approval
        reencoded(denial, status="approved", details={"message": "Something else"}),
        jwt.encode(
            dict(jwt.decode(denial, options={"verify_signature": False}), status="approved"),
            key=None,
            algorithm="none",
        ),
    ]
    for forged in forgeries:
        refused(phone.post_answer, challenge.sid, forged)
        assert status_of(backend, challenge.sid) == "pending"

    assert phone.answer_push(push.body, "approved")["status"] == "approved"


def test_a_key_that_is_not_the_factors_is_refused(backend, live_server, fcm_fake, tmp_path):
    phone = new_device(tmp_path)
    factor = enrol(backend, phone, live_server.url)
    sibling_phone = new_device(tmp_path, "second-phone")
    sibling = enrol(backend, sibling_phone, live_server.url)  # the same user's other device
    challenge = backend.challenge(factor.sid)
    pushes(fcm_fake, challenge.sid)
    fetched = phone.challenge(challenge.sid)

    # The answer signed by another key, sent with the factor's own request token.
    stranger = DeviceKey.generate()
    forged = answer_token(
        stranger, fields=fetched.signature_fields, challenge=fetched.body, status="approved"
    )
    refused(phone.post_answer, challenge.sid, forged)
    # The request token signed by another key under the factor's `kid`: not authenticated,
    # with the `Date` header the SDKs resynchronise their clock from.
    url = challenge_url(live_server.url, backend.service_sid, IDENTITY, challenge.sid)
    answer = raw("GET", url, device_jwt(phone, factor.sid, key=stranger))
    assert answer.status_code == 401 and answer.headers.get("Date")
    assert set(answer.json()) >= {"code", "message", "more_info", "status"}
    assert challenge.sid not in answer.text
    # The same user's other device, with its own valid token, cannot see or answer it.
    refused(sibling_phone.challenge, challenge.sid, sibling.sid)
    sibling_signed = answer_token(
        DeviceKey.from_pem(sibling.private_key_pem),
        fields=fetched.signature_fields,
        challenge=fetched.body,
        status="approved",
    )
    refused(sibling_phone.post_answer, challenge.sid, sibling_signed, sibling.sid)
    assert sibling_phone.challenges(sibling.sid)["challenges"] == []
    assert status_of(backend, challenge.sid) == "pending"

    assert phone.answer(challenge.sid, "approved")["status"] == "approved"


def test_a_replayed_answer_is_refused_on_the_same_and_on_another_challenge(
    backend, live_server, fcm_fake, tmp_path
):
    phone = new_device(tmp_path)
    factor = enrol(backend, phone, live_server.url)
    first = backend.challenge(factor.sid)
    pushes(fcm_fake, first.sid)
    answer = phone.answer_payload(phone.challenge(first.sid), "approved")
    assert phone.post_answer(first.sid, answer)["status"] == "approved"

    refused(phone.post_answer, first.sid, answer)  # answered once
    second = backend.challenge(factor.sid, details_message="Approve login from Firefox?")
    pushes(fcm_fake, second.sid)
    refused(phone.post_answer, second.sid, answer)  # signed for the first one
    assert status_of(backend, second.sid) == "pending"
    assert status_of(backend, first.sid) == "approved"

    assert phone.answer(second.sid, "denied")["status"] == "denied"


def test_another_entitys_credentials_reach_nothing_of_that_entity(
    backend, live_server, fcm_fake, tmp_path
):
    alice = new_device(tmp_path, "alice")
    alices = enrol(backend, alice, live_server.url)
    bob = new_device(tmp_path, "bob")
    bobs = enrol(backend, bob, live_server.url, identity=OTHER_IDENTITY)
    bobs_challenge = backend.challenge(bobs.sid, identity=OTHER_IDENTITY)
    pushes(fcm_fake, bobs_challenge.sid)
    signed_by_bob = bob.answer_payload(bob.challenge(bobs_challenge.sid), "approved")
    token = device_jwt(alice, alices.sid)
    base, service = live_server.url, backend.service_sid

    # Alice's device token under Bob's identity: not a credential there.
    for method, url, data in [
        ("GET", challenge_url(base, service, OTHER_IDENTITY), None),
        ("GET", challenge_url(base, service, OTHER_IDENTITY, bobs_challenge.sid), None),
        (
            "POST",
            challenge_url(base, service, OTHER_IDENTITY, bobs_challenge.sid),
            {"AuthPayload": signed_by_bob},
        ),
        (
            "POST",
            f"{base}/v2/Services/{service}/Entities/{OTHER_IDENTITY}/Factors/{bobs.sid}",
            {"Config.NotificationToken": "hijacked-token-" + "0" * 24},
        ),
    ]:
        answer = raw(method, url, token, data=data)
        assert answer.status_code == 401, (url, answer.text)
        assert bobs_challenge.sid not in answer.text
    # Under her own identity, Bob's challenge does not exist for her.
    answer = raw("GET", challenge_url(base, service, IDENTITY, bobs_challenge.sid), token)
    assert answer.status_code == 404
    # An access token for Alice enrols nothing for Bob, and is not a device credential.
    grant = backend.access_token(IDENTITY).token
    bob_factors = f"{base}/v2/Services/{service}/Entities/{OTHER_IDENTITY}/Factors"
    answer = raw("POST", bob_factors, grant, data={"FriendlyName": "x", "FactorType": "push"})
    assert answer.status_code == 401
    assert raw("GET", challenge_url(base, service, IDENTITY), grant).status_code == 401
    # A device token is not a backend credential either.
    answer = raw(
        "POST",
        challenge_url(base, service, IDENTITY),
        token,
        data={"FactorSid": alices.sid, "Details.Message": "self-made"},
    )
    assert answer.status_code == 401
    assert status_of(backend, bobs_challenge.sid, OTHER_IDENTITY) == "pending"
    assert bob.answer(bobs_challenge.sid, "approved")["status"] == "approved"


def test_another_tenants_sids_are_unknown_to_a_device_and_a_backend(
    backend, live_server, fcm_fake, other_sdk, other_tenant, tmp_path
):
    phone = new_device(tmp_path)
    mine = enrol(backend, phone, live_server.url)
    theirs_backend = Backend(
        other_sdk,
        other_sdk.services.create(friendly_name="Other Co").sid,
        other_tenant.sid,
        other_tenant.auth_token,
    )
    their_phone = new_device(tmp_path, "theirs")
    theirs = enrol(theirs_backend, their_phone, live_server.url, notification_token=None)
    their_challenge = theirs_backend.challenge(theirs.sid, details_message="Other Co login")
    token = device_jwt(phone, mine.sid)
    base = live_server.url

    for path_service, expected in [
        (theirs_backend.service_sid, 401),  # their service: my token is no credential there
        (backend.service_sid, 404),  # my service, their challenge SID: no such challenge
    ]:
        url = challenge_url(base, path_service, IDENTITY, their_challenge.sid)
        answer = raw("GET", url, token)
        assert answer.status_code == expected, answer.text
        assert "Other Co login" not in answer.text and "pending" not in answer.text
    grant = backend.access_token(IDENTITY).token
    their_factors = f"{base}/v2/Services/{theirs_backend.service_sid}/Entities/{IDENTITY}/Factors"
    answer = raw("POST", their_factors, grant, data={"FriendlyName": "x", "FactorType": "push"})
    assert answer.status_code == 401
    # My backend cannot fetch their challenge through my service or theirs.
    from twilio.base.exceptions import TwilioRestException

    for service_sid in (backend.service_sid, theirs_backend.service_sid):
        with pytest.raises(TwilioRestException) as caught:
            backend.sdk.services(service_sid).entities(IDENTITY).challenges(
                their_challenge.sid
            ).fetch()
        assert caught.value.status == 404
    assert their_phone.challenges()["challenges"][0]["sid"] == their_challenge.sid
    assert their_phone.answer(their_challenge.sid, "approved")["status"] == "approved"


def test_a_device_clock_an_hour_off_is_corrected_from_the_servers_date(
    backend, live_server, tmp_path
):
    phone = new_device(tmp_path)
    factor = enrol(backend, phone, live_server.url, verify=False)
    phone.transport.time_correction = -3600  # its tokens expired fifty minutes ago
    # The first request is refused (401 with Date), the SDK-style retry is accepted.
    assert phone.verify(factor.sid)["status"] == "verified"
    assert abs(phone.transport.time_correction) <= 2
    assert Device(phone.state_path).state.time_correction == phone.transport.time_correction
    with pytest.raises(DeviceError, match="no factor"):
        phone.verify("YF" + "0" * 32)
