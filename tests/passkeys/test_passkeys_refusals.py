"""What the Passkeys operations refuse, each a Twilio-shaped 4xx through the official SDK:
a wrong origin or RP ID, a replayed assertion, a cloned (backwards) counter, an expired
challenge, another tenant's factor or challenge, user verification required but not done,
and Twilio's 60393 and 60394."""

from __future__ import annotations

from datetime import timedelta

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.conftest import (
    IDENTITY,
    ORIGIN,
    approve,
    create_service,
    enrol,
    new_challenge,
    new_factor,
    verify_factor,
)


def refused(call, status: int, code: int) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code), caught.value.msg
    return caught.value


def _challenge_status(sid: str) -> str:
    from challenges.models import Challenge

    return Challenge.objects.get(pk=sid).status


def test_registration_from_a_wrong_origin_or_rp_is_refused(sdk, svc, authenticator):
    factor = new_factor(sdk, svc.sid)
    wrong_origin = authenticator.create(factor.options, origin="https://evil.example.net")
    error = refused(lambda: verify_factor(sdk, svc.sid, wrong_origin), 403, 60324)
    assert "origin" in error.msg
    wrong_rp = authenticator.create(factor.options, rp_id="evil.example.net")
    assert "RP ID" in refused(lambda: verify_factor(sdk, svc.sid, wrong_rp), 403, 60324).msg
    assert sdk.services(svc.sid).entities(IDENTITY).factors(factor.sid).fetch().status == (
        "unverified"
    )
    # The refused attempts did not use the registration up.
    assert verify_factor(sdk, svc.sid, authenticator.create(factor.options)).status == "verified"


def test_registration_answers_once(sdk, svc, authenticator):
    factor = new_factor(sdk, svc.sid)
    credential = authenticator.create(factor.options)
    verify_factor(sdk, svc.sid, credential)
    refused(lambda: verify_factor(sdk, svc.sid, credential), 404, 20404)


def test_expired_registration_is_refused(sdk, svc, authenticator):
    from factors.models import PasskeyCredential

    factor = new_factor(sdk, svc.sid)
    PasskeyCredential.objects.filter(pk=factor.sid).update(
        registration_expires_at=factor.date_created - timedelta(seconds=1)
    )
    credential = authenticator.create(factor.options)
    refused(lambda: verify_factor(sdk, svc.sid, credential), 403, 60323)


def test_assertion_from_a_wrong_origin_or_rp_is_refused(sdk, svc, authenticator):
    enrol(sdk, svc.sid, authenticator)
    challenge = new_challenge(sdk, svc.sid, identity=IDENTITY)
    wrong_origin = authenticator.get(challenge.options, origin="https://evil.example.net")
    assert "origin" in refused(lambda: approve(sdk, svc.sid, wrong_origin), 403, 60324).msg
    wrong_rp = authenticator.get(challenge.options, rp_id="evil.example.net")
    assert "RP ID" in refused(lambda: approve(sdk, svc.sid, wrong_rp), 403, 60324).msg
    assert _challenge_status(challenge.sid) == "pending"
    assert approve(sdk, svc.sid, authenticator.get(challenge.options)).status == "approved"


def test_replayed_assertion_is_refused(sdk, svc, authenticator):
    enrol(sdk, svc.sid, authenticator)
    challenge = new_challenge(sdk, svc.sid, identity=IDENTITY)
    assertion = authenticator.get(challenge.options)
    assert approve(sdk, svc.sid, assertion).status == "approved"
    refused(lambda: approve(sdk, svc.sid, assertion), 403, 60322)
    # A second, fresh answer to the same challenge is refused the same way.
    refused(lambda: approve(sdk, svc.sid, authenticator.get(challenge.options)), 403, 60322)
    from services.models import Event

    assert Event.objects.filter(type="challenge.approved", resource_sid=challenge.sid).count() == 1


def test_cloned_counter_is_refused_and_recorded(sdk, svc, authenticator):
    from factors.models import PasskeyCredential

    factor = enrol(sdk, svc.sid, authenticator)
    first = new_challenge(sdk, svc.sid, identity=IDENTITY)
    approve(sdk, svc.sid, authenticator.get(first.options, counter=5))
    second = new_challenge(sdk, svc.sid, identity=IDENTITY)
    stale = authenticator.get(second.options, counter=5)
    error = refused(lambda: approve(sdk, svc.sid, stale), 403, 60324)
    assert "cloned" in error.msg
    row = PasskeyCredential.objects.get(pk=factor.sid)
    assert row.clone_detected_at is not None and row.sign_count == 5
    assert _challenge_status(second.sid) == "pending"
    # From then on the passkey is refused, even with a counter that moves forward.
    third = new_challenge(sdk, svc.sid, identity=IDENTITY)
    refused(lambda: approve(sdk, svc.sid, authenticator.get(third.options, counter=9)), 403, 60324)


def test_expired_challenge_is_refused(sdk, svc, authenticator):
    from challenges.models import Challenge
    from challenges.passkey_models import PasskeyChallenge

    enrol(sdk, svc.sid, authenticator)
    challenge = new_challenge(sdk, svc.sid, identity=IDENTITY)
    past = challenge.date_created - timedelta(seconds=1)
    PasskeyChallenge.objects.filter(pk=challenge.sid).update(expires_at=past)
    Challenge.objects.filter(pk=challenge.sid).update(expiration_date=past)
    assertion = authenticator.get(challenge.options)
    refused(lambda: approve(sdk, svc.sid, assertion), 403, 60323)
    assert _challenge_status(challenge.sid) == "expired"


def test_another_tenants_factor_and_challenge_are_404(sdk, other_sdk, svc, authenticator):
    factor = enrol(sdk, svc.sid, authenticator)
    challenge = new_challenge(sdk, svc.sid, identity=IDENTITY)
    theirs = create_service(other_sdk)
    # Another tenant names the first tenant's factor, or answers its challenge.
    refused(lambda: new_challenge(other_sdk, theirs.sid, factor_sid=factor.sid), 404, 20404)
    refused(lambda: new_challenge(other_sdk, theirs.sid, identity=IDENTITY), 404, 20404)
    assertion = authenticator.get(challenge.options)
    refused(lambda: approve(other_sdk, theirs.sid, assertion), 404, 20404)
    refused(lambda: approve(other_sdk, svc.sid, assertion), 404, 20404)
    pending = new_factor(sdk, svc.sid, identity="user-0002-pk")
    registration = SoftAuthenticator(origin=ORIGIN).create(pending.options)
    refused(lambda: verify_factor(other_sdk, theirs.sid, registration), 404, 20404)
    refused(lambda: new_factor(other_sdk, svc.sid), 404, 20404)
    # Still the first tenant's to answer.
    assert approve(sdk, svc.sid, assertion).status == "approved"


def test_user_verification_required_but_not_performed(sdk):
    strict = create_service(sdk, user_verification="required")
    device = SoftAuthenticator(origin=ORIGIN)
    factor = new_factor(sdk, strict.sid)
    unverified = device.create(factor.options, user_verified=False)
    refused(lambda: verify_factor(sdk, strict.sid, unverified), 403, 60324)
    verify_factor(sdk, strict.sid, device.create(factor.options))
    challenge = new_challenge(sdk, strict.sid, identity=IDENTITY)
    no_uv = device.get(challenge.options, user_verified=False)
    assert "verif" in refused(lambda: approve(sdk, strict.sid, no_uv), 403, 60324).msg


def test_missing_authenticator_criteria_is_60393(sdk):
    bare = sdk.services.create(friendly_name="Bare", passkeys_relying_party_id="example.org")
    error = refused(lambda: new_factor(sdk, bare.sid), 400, 60393)
    assert "authenticator_attachment" in error.msg and "user_verification" in error.msg
    partial = {"authenticator_attachment": "platform", "user_verification": "preferred"}
    error = refused(lambda: new_factor(sdk, bare.sid, config=partial), 400, 60393)
    assert "discoverable_credentials" in error.msg and "user_verification" not in error.msg
    # With the criteria, the relying party's origins are still missing: Twilio's 60371.
    whole = {**partial, "discoverable_credentials": "preferred"}
    refused(lambda: new_factor(sdk, bare.sid, config=whole), 400, 60371)
    from factors.models import Factor

    assert not Factor.objects.filter(service_id=bare.sid).exists()


def test_challenge_without_service_configuration_is_60394(sdk):
    bare = sdk.services.create(friendly_name="Bare")
    refused(lambda: new_challenge(sdk, bare.sid, identity=IDENTITY), 400, 60394)
    refused(lambda: new_challenge(sdk, bare.sid), 400, 60394)


def test_challenge_for_an_unverified_passkey_is_refused(sdk, svc):
    factor = new_factor(sdk, svc.sid)
    refused(lambda: new_challenge(sdk, svc.sid, factor_sid=factor.sid), 403, 60318)
    refused(lambda: new_challenge(sdk, svc.sid, identity=IDENTITY), 403, 60318)


def test_passkey_of_another_entity_cannot_answer(sdk, svc, authenticator):
    enrol(sdk, svc.sid, authenticator)
    other_device = SoftAuthenticator(origin=ORIGIN)
    enrol(sdk, svc.sid, other_device, identity="user-0002-pk")
    challenge = new_challenge(sdk, svc.sid, identity=IDENTITY)
    # The other user's authenticator signs the first user's challenge with its own passkey.
    options = {"publicKey": {**challenge.options["publicKey"], "allowCredentials": []}}
    intruder = other_device.get(options)
    refused(lambda: approve(sdk, svc.sid, intruder), 403, 60324)
