"""A service with a relying party, and the official SDK's four Passkeys calls as a site's
backend makes them (request objects of `twilio` 9.x, unchanged)."""

from __future__ import annotations

import pytest
from twilio.rest.verify.v2.service.approve_challenge import ApproveChallengeList
from twilio.rest.verify.v2.service.new_challenge import NewChallengeList
from twilio.rest.verify.v2.service.new_factor import NewFactorList
from twilio.rest.verify.v2.service.new_verify_factor import NewVerifyFactorList

from tests.passkeys.authenticator import SoftAuthenticator

RP_ID = "login.example.com"
ORIGIN = "https://login.example.com"
IDENTITY = "user-0001-pk"


def create_service(sdk, *, user_verification: str = "preferred", **extra):
    settings = {
        "passkeys_relying_party_id": RP_ID,
        "passkeys_relying_party_name": "Acme Login",
        "passkeys_relying_party_origins": f"{ORIGIN},https://www.example.com",
        "passkeys_authenticator_attachment": "platform",
        "passkeys_discoverable_credentials": "preferred",
        "passkeys_user_verification": user_verification,
    }
    return sdk.services.create(friendly_name="Acme Login", **{**settings, **extra})


@pytest.fixture
def svc(sdk):
    return create_service(sdk)


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(origin=ORIGIN)


def new_factor(sdk, service_sid: str, identity: str = IDENTITY, config: dict | None = None):
    request = {"friendly_name": "Rita's phone", "identity": identity}
    if config is not None:
        request["config"] = config
    return sdk.services(service_sid).new_factors.create(
        NewFactorList.CreateNewPasskeysFactorRequest(request)
    )


def verify_factor(sdk, service_sid: str, credential: dict):
    return sdk.services(service_sid).new_verify_factors.update(
        NewVerifyFactorList.VerifyPasskeysFactorRequest(credential)
    )


def new_challenge(sdk, service_sid: str, **request):
    return (
        sdk.services(service_sid)
        .new_challenge()
        .create(NewChallengeList.CreatePasskeysChallengeRequest(request))
    )


def approve(sdk, service_sid: str, assertion: dict):
    return sdk.services(service_sid).approve_challenge.update(
        ApproveChallengeList.ApprovePasskeysChallengeRequest(assertion)
    )


def enrol(sdk, service_sid: str, authenticator: SoftAuthenticator, identity: str = IDENTITY):
    """A verified passkeys factor of `identity`, held by `authenticator`."""
    factor = new_factor(sdk, service_sid, identity)
    verified = verify_factor(sdk, service_sid, authenticator.create(factor.options))
    assert verified.status == "verified"
    return verified
