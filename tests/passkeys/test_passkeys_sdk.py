"""Passkeys through the official `twilio` SDK against a live server: registration, sign-in
by identity, by factor and usernameless, and the factor among the entity's other factors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.passkeys.authenticator import SoftAuthenticator, unb64url
from tests.passkeys.conftest import (
    IDENTITY,
    ORIGIN,
    RP_ID,
    approve,
    create_service,
    enrol,
    new_challenge,
    new_factor,
    verify_factor,
)

CHALLENGE_FIELDS = {
    "sid", "account_sid", "service_sid", "entity_sid", "identity", "factor_sid",
    "date_created", "date_updated", "date_responded", "expiration_date", "status",
    "responded_reason", "details", "hidden_details", "metadata", "factor_type", "url",
    "links", "options",
}  # fmt: skip


def _events(service_sid: str, kind: str) -> list[dict]:
    from services.models import Event

    return list(
        Event.objects.filter(service_id=service_sid, type=kind)
        .order_by("date_created")
        .values_list("payload", flat=True)
    )


def test_service_returns_origins_sent_alone(sdk):
    svc = sdk.services.create(
        friendly_name="Acme", passkeys_relying_party_origins="https://a.example.com"
    )
    assert svc.passkeys["relying_party"] == {
        "id": None,
        "name": None,
        "origins": ["https://a.example.com"],
    }
    assert sdk.services(svc.sid).fetch().passkeys["relying_party"]["origins"] == [
        "https://a.example.com"
    ]


def test_register_then_sign_in_by_identity(sdk, svc, authenticator):
    factor = new_factor(sdk, svc.sid)
    assert factor.sid.startswith("YF") and factor.factor_type == "passkeys"
    assert factor.status == "unverified" and factor.identity == IDENTITY
    assert factor.entity_sid.startswith("YE")
    public_key = factor.options["publicKey"]
    assert public_key["rp"] == {"id": RP_ID, "name": "Acme Login"}
    assert public_key["user"]["name"] == IDENTITY
    assert unb64url(public_key["user"]["id"]) == factor.entity_sid.encode()
    assert [p["alg"] for p in public_key["pubKeyCredParams"]] == [-7, -8, -257]
    assert public_key["authenticatorSelection"]["authenticatorAttachment"] == "platform"
    assert public_key["authenticatorSelection"]["residentKey"] == "preferred"
    assert public_key["authenticatorSelection"]["userVerification"] == "preferred"
    assert public_key["attestation"] == "none" and public_key["timeout"] == 600000
    assert len(unb64url(public_key["challenge"])) >= 16

    verified = verify_factor(sdk, svc.sid, authenticator.create(factor.options))
    assert verified.sid == factor.sid and verified.status == "verified"
    assert verified.metadata == {"aaguid": "00010203-0405-0607-0809-0a0b0c0d0e0f"}
    assert [e["status"] for e in _events(svc.sid, "factor.verified")] == ["verified"]

    challenge = new_challenge(sdk, svc.sid, identity=IDENTITY)
    assert challenge.sid.startswith("YC") and challenge.status == "pending"
    assert challenge.factor_sid == factor.sid and challenge.factor_type == "passkeys"
    request = challenge.options["publicKey"]
    assert request["rpId"] == RP_ID and request["userVerification"] == "preferred"
    credential_id = next(iter(authenticator.credentials))
    assert [unb64url(c["id"]) for c in request["allowCredentials"]] == [credential_id]
    assert request["allowCredentials"][0]["transports"] == ["internal", "hybrid"]

    approved = approve(sdk, svc.sid, authenticator.get(challenge.options))
    assert approved.sid == challenge.sid and approved.status == "approved"
    assert approved.date_responded is not None and approved.factor_sid == factor.sid
    assert [e["challenge_sid"] for e in _events(svc.sid, "challenge.approved")] == [challenge.sid]
    fetched = sdk.services(svc.sid).entities(IDENTITY).challenges(challenge.sid).fetch()
    assert fetched.status == "approved"


def test_sign_in_by_factor_sid_with_none_attestation(sdk, svc):
    device = SoftAuthenticator(origin="https://www.example.com", attestation="none")
    factor = enrol(sdk, svc.sid, device)
    challenge = new_challenge(sdk, svc.sid, factor_sid=factor.sid)
    assert challenge.identity == IDENTITY
    assert approve(sdk, svc.sid, device.get(challenge.options)).status == "approved"


def test_usernameless_sign_in_names_the_passkeys_user(sdk, svc, authenticator):
    factor = enrol(sdk, svc.sid, authenticator)
    challenge = new_challenge(sdk, svc.sid)
    assert (
        challenge.status == "pending" and challenge.options["publicKey"]["allowCredentials"] == []
    )
    assert (
        challenge.identity is None and challenge.entity_sid is None and challenge.factor_sid is None
    )
    approved = approve(sdk, svc.sid, authenticator.get(challenge.options))
    assert approved.status == "approved" and approved.sid == challenge.sid
    assert approved.identity == IDENTITY and approved.factor_sid == factor.sid
    assert approved.entity_sid == factor.entity_sid
    [event] = _events(svc.sid, "challenge.approved")
    assert event["entity_identity"] == IDENTITY and event["factor_sid"] == factor.sid
    listed = sdk.services(svc.sid).entities(IDENTITY).challenges.list()
    assert [c.sid for c in listed] == [challenge.sid]


def test_passkey_factor_lists_fetches_and_deletes_without_options(sdk, svc, authenticator):
    factor = enrol(sdk, svc.sid, authenticator)
    entity = sdk.services(svc.sid).entities(IDENTITY)
    fetched = entity.factors(factor.sid).fetch()
    assert fetched.factor_type == "passkeys" and fetched.status == "verified"
    assert fetched.config == {
        "relying_party": {
            "id": RP_ID,
            "name": "Acme Login",
            "origins": [ORIGIN, "https://www.example.com"],
        },
        "authenticator_attachment": "platform",
        "discoverable_credentials": "preferred",
        "user_verification": "preferred",
    }
    assert not hasattr(fetched, "options")
    assert [f.sid for f in entity.factors.list()] == [factor.sid]
    assert entity.factors(factor.sid).delete() is True
    with pytest.raises(TwilioRestException) as gone:
        new_challenge(sdk, svc.sid, factor_sid=factor.sid)
    assert gone.value.status == 404


def test_request_config_over_service_settings(sdk):
    bare = sdk.services.create(friendly_name="Bare")
    config = {
        "relying_party": {"id": "example.org", "name": "Org", "origins": ["https://example.org"]},
        "authenticator_attachment": "cross-platform",
        "discoverable_credentials": "required",
        "user_verification": "discouraged",
    }
    factor = new_factor(sdk, bare.sid, config=config)
    public_key = factor.options["publicKey"]
    assert public_key["rp"] == {"id": "example.org", "name": "Org"}
    assert public_key["authenticatorSelection"] == {
        "authenticatorAttachment": "cross-platform",
        "residentKey": "required",
        "requireResidentKey": True,
        "userVerification": "discouraged",
    }
    device = SoftAuthenticator(origin="https://example.org")
    assert verify_factor(sdk, bare.sid, device.create(factor.options)).status == "verified"


def test_second_passkey_excludes_the_first(sdk, svc, authenticator):
    enrol(sdk, svc.sid, authenticator)
    second = new_factor(sdk, svc.sid)
    excluded = second.options["publicKey"]["excludeCredentials"]
    assert [unb64url(c["id"]) for c in excluded] == list(authenticator.credentials)


def test_uv_required_service_asks_for_it(sdk):
    strict = create_service(sdk, user_verification="required")
    device = SoftAuthenticator(origin=ORIGIN)
    factor = new_factor(sdk, strict.sid)
    assert factor.options["publicKey"]["authenticatorSelection"]["userVerification"] == "required"
    verify_factor(sdk, strict.sid, device.create(factor.options))
    challenge = new_challenge(sdk, strict.sid, identity=IDENTITY)
    assert challenge.options["publicKey"]["userVerification"] == "required"
    assert approve(sdk, strict.sid, device.get(challenge.options)).status == "approved"


def test_the_expiry_sweeper_deletes_side_rows_a_day_old(sdk, svc, authenticator):
    """A usernameless challenge nobody answered has only its WebAuthn side row: the
    periodic expiry sweeper deletes it a day after it ended, and leaves current ones."""
    from challenges.passkey_models import PasskeyChallenge
    from challenges.tasks import challenge_expire_sweep_task
    from verify_platform.lib import clock

    enrol(sdk, svc.sid, authenticator)
    old, fresh = new_challenge(sdk, svc.sid), new_challenge(sdk, svc.sid)
    ended = clock.current_time() - timedelta(days=1, seconds=1)
    PasskeyChallenge.objects.filter(pk=old.sid).update(expires_at=ended)
    challenge_expire_sweep_task()
    assert list(PasskeyChallenge.objects.values_list("sid", flat=True)) == [fresh.sid]
