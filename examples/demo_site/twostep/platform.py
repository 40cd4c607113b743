"""Every call the site makes to the Verify Platform, through the official `twilio` SDK.

The SDK is pointed at the platform's base URL exactly as the platform's README documents
(a Client whose `verify.base_url` is the platform, edge and region unset) and authenticates
with an API key (SK...) of the site's own account. The views call only these functions, so
this module is the whole of what a customer writes to use the platform.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client
from twilio.rest.verify.v2.service.approve_challenge import ApproveChallengeList
from twilio.rest.verify.v2.service.new_challenge import NewChallengeList
from twilio.rest.verify.v2.service.new_factor import NewFactorList
from twilio.rest.verify.v2.service.new_verify_factor import NewVerifyFactorList

# The factor types a user can choose for the second step, in the order they are offered.
SECOND_STEP_TYPES = ("passkeys", "totp", "sms")
TYPE_LABELS = {
    "totp": "Authenticator app",
    "sms": "Text message (SMS)",
    "passkeys": "Passkey",
    "recovery_codes": "Recovery codes",
}

__all__ = ["PlatformError", "TwilioRestException"]


class PlatformError(Exception):
    """What the platform refused, in words an end user can act on; `code` is Twilio's."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message, self.code = message, code


# Twilio error codes the journeys meet, as a user should read them.
MESSAGES = {
    20404: "That no longer exists. Please start again.",
    60200: "That does not look right. Check it and try again.",
    60202: "Too many attempts. Please start again.",
    60203: "Too many codes were sent. Please wait a few minutes.",
    60308: "Too many wrong codes. Please start again.",
    60310: "Too many failed attempts: wait a moment before trying again.",
    60317: "That code has expired. Please start again.",
    60322: "This sign-in was already completed. Please start again.",
    60323: "This request has expired. Please start again.",
    60324: "This passkey could not be verified for this site.",
    60393: "Passkeys are not set up for this site.",
    60394: "Passkeys are not set up for this site.",
}


UNAVAILABLE = "The verification service is not available right now. Please try again soon."


def refused(error: TwilioRestException) -> PlatformError:
    code = error.code if isinstance(error.code, int) else None
    text = MESSAGES.get(code or 0, "The verification service refused this. Please try again.")
    return PlatformError(f"{text} (error {code})" if code else text, code)


@functools.cache
def _verify() -> Any:
    client = Client(
        settings.VERIFY_API_KEY_SID, settings.VERIFY_API_KEY_SECRET, settings.VERIFY_ACCOUNT_SID
    )
    client.edge = client.region = None  # else TWILIO_EDGE/TWILIO_REGION rewrite the host
    client.verify.base_url = settings.VERIFY_BASE_URL
    return client.verify.v2


def _service() -> Any:
    return _verify().services(settings.VERIFY_SERVICE_SID)


def _entity(identity: str) -> Any:
    return _service().entities(identity)


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one SDK call; a refusal becomes a PlatformError the view shows."""
    try:
        return fn(*args, **kwargs)
    except TwilioRestException as error:
        raise refused(error) from error
    except (TwilioException, OSError) as error:  # requests' errors are OSErrors
        raise PlatformError(UNAVAILABLE) from error


@dataclass(frozen=True)
class Factor:
    sid: str
    factor_type: str
    friendly_name: str
    status: str
    config: dict

    @property
    def label(self) -> str:
        return TYPE_LABELS.get(self.factor_type, self.factor_type)


def factors(identity: str) -> list[Factor]:
    """The user's factors; a user the platform has never seen has none."""
    try:
        found = _entity(identity).factors.list(limit=100)
    except TwilioRestException as error:
        raise refused(error) from error
    except TwilioException as error:  # a list page the SDK could not read: (message, response)
        response = error.args[1] if len(error.args) > 1 else None
        if getattr(response, "status_code", None) == 404:
            return []
        raise PlatformError(UNAVAILABLE) from error
    except OSError as error:
        raise PlatformError(UNAVAILABLE) from error
    return [
        Factor(f.sid, f.factor_type, f.friendly_name or "", f.status, dict(f.config or {}))
        for f in found
    ]


def second_steps(identity: str) -> list[Factor]:
    """The verified factors a sign-in can use, passkeys first."""
    usable = [f for f in factors(identity) if f.status == "verified"]
    usable = [f for f in usable if f.factor_type in SECOND_STEP_TYPES]
    return sorted(usable, key=lambda f: SECOND_STEP_TYPES.index(f.factor_type))


def recovery_factor(identity: str) -> Factor | None:
    return next((f for f in factors(identity) if f.factor_type == "recovery_codes"), None)


def entity_create(identity: str) -> None:
    """The user's Entity, made when they sign up (one already there is fine)."""
    try:
        _service().entities.create(identity=identity)
    except TwilioRestException as error:
        if error.status != 409:
            raise refused(error) from error
    except (TwilioException, OSError) as error:
        raise PlatformError(UNAVAILABLE) from error


# --- enrolment ---------------------------------------------------------------------------------


def totp_start(identity: str, name: str) -> tuple[str, str, str]:
    """A new authenticator-app factor: (sid, secret, otpauth URI), shown to the user once."""
    factor = call(_entity(identity).new_factors.create, friendly_name=name, factor_type="totp")
    return factor.sid, factor.binding["secret"], factor.binding["uri"]


def sms_start(identity: str, name: str, phone_number: str) -> str:
    """A phone factor (sends its first code). The SDK has no argument for the binding, so the
    form goes through the SDK's own request path, as the platform's README shows."""
    path = f"/Services/{settings.VERIFY_SERVICE_SID}/Entities/{identity}/Factors"
    form = {"FriendlyName": name, "FactorType": "sms", "Binding.PhoneNumber": phone_number}
    return call(_verify().create, "POST", path, data=form)["sid"]


def factor_verify(identity: str, factor_sid: str, code: str) -> bool:
    """The first code for a new factor; True once the factor is verified."""
    factor = call(_entity(identity).factors(factor_sid).update, auth_payload=code)
    return factor.status == "verified"


def recovery_codes_new(identity: str) -> list[str]:
    """A fresh set of recovery codes (the previous set stops working)."""
    factor = call(
        _entity(identity).new_factors.create,
        friendly_name="Recovery codes",
        factor_type="recovery_codes",
    )
    return list(factor.binding["codes"])


def factor_delete(identity: str, factor_sid: str) -> None:
    call(_entity(identity).factors(factor_sid).delete)


# --- challenges with codes ---------------------------------------------------------------------


def code_check(identity: str, factor_sid: str, code: str) -> bool:
    """A challenge answered at once with the code (TOTP, or a recovery code)."""
    challenge = call(_entity(identity).challenges.create, factor_sid=factor_sid, auth_payload=code)
    return challenge.status == "approved"


def sms_challenge(identity: str, factor_sid: str) -> str:
    """A challenge on a phone factor: the platform sends a fresh code; its SID is returned."""
    return call(_entity(identity).challenges.create, factor_sid=factor_sid).sid


def challenge_answer(identity: str, challenge_sid: str, code: str) -> bool:
    challenge = call(_entity(identity).challenges(challenge_sid).update, auth_payload=code)
    return challenge.status == "approved"


# --- passkeys ----------------------------------------------------------------------------------


def passkey_start(identity: str, name: str) -> tuple[str, dict]:
    """A new passkey factor: (sid, the WebAuthn creation options for the browser)."""
    request = NewFactorList.CreateNewPasskeysFactorRequest(
        {"friendly_name": name, "identity": identity}
    )
    factor = call(_service().new_factors.create, request)
    return factor.sid, dict(factor.options or {})


def passkey_verify(credential: dict) -> tuple[str, str]:
    """The browser's new credential: (factor sid, status)."""
    request = NewVerifyFactorList.VerifyPasskeysFactorRequest(credential)
    factor = call(_service().new_verify_factors.update, request)
    return factor.sid, factor.status


def passkey_challenge(identity: str | None) -> tuple[str, dict]:
    """A passkey sign-in: for one user, or (None) for any discoverable credential of the
    service, the usernameless sign-in. Returns (challenge sid, WebAuthn request options)."""
    request = NewChallengeList.CreatePasskeysChallengeRequest(
        {"identity": identity} if identity else {}
    )
    challenge = call(_service().new_challenge().create, request)
    return challenge.sid, dict(challenge.options or {})


@dataclass(frozen=True)
class Approved:
    sid: str
    identity: str
    status: str


def passkey_approve(assertion: dict) -> Approved:
    request = ApproveChallengeList.ApprovePasskeysChallengeRequest(assertion)
    challenge = call(_service().approve_challenge.update, request)
    return Approved(challenge.sid, challenge.identity or "", challenge.status)
