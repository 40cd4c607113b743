"""The form-encoded Factors API points a passkey to the Passkeys operations, in Twilio's
error shape, instead of treating it as a TOTP factor."""

from __future__ import annotations

from tests.helpers import assert_twilio_error, form
from tests.passkeys.authenticator import SoftAuthenticator


def test_form_create_and_code_update_of_a_passkey_are_refused(api, service):
    from factors.domain.passkeys import passkey_factor_create
    from services.models import Service

    base = f"/v2/Services/{service.sid}/Entities/user-0001-pk/Factors"
    body = assert_twilio_error(
        form(api, base, {"FriendlyName": "Key", "FactorType": "passkeys"}), 400, 60200
    )
    assert "Passkeys/Factors" in body["message"]
    Service.objects.filter(pk=service.pk).update(
        passkeys_relying_party_id="login.example.com",
        passkeys_relying_party_origins="https://login.example.com",
        passkeys_authenticator_attachment="any",
        passkeys_discoverable_credentials="required",
        passkeys_user_verification="required",
    )
    service.refresh_from_db()
    factor, options = passkey_factor_create(
        service=service, identity="user-0001-pk", friendly_name="Key"
    )
    assert "authenticatorAttachment" not in options["publicKey"]["authenticatorSelection"]
    SoftAuthenticator(origin="https://login.example.com").create(options)
    body = assert_twilio_error(
        form(api, f"{base}/{factor.sid}", {"AuthPayload": "123456"}), 400, 60200
    )
    assert "Passkeys/VerifyFactor" in body["message"]
