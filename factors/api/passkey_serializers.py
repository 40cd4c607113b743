"""JSON bodies of Twilio's Passkeys operations and the passkeys factor's answer shape.

The Passkeys operations take JSON (the SDK's request objects, `PublicKeyCredential.toJSON()`
as browsers write it), not Twilio's form parameters, so these are plain DRF serializers keyed
by the JSON names. The SDK sends every key of its request objects, unset ones as null: every
optional field takes null. Unknown keys are ignored (a browser adds `clientExtensionResults`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from factors.api.entity_serializers import IDENTITY_PATTERN
from factors.api.serializers import FactorSerializer
from factors.passkeys import (
    ATTACHMENTS,
    BASE64URL_PATTERN,
    ORIGIN_PATTERN,
    PREFERENCES,
    RP_ID_PATTERN,
)
from verify_platform.lib.api.forms import Pattern, nfc, storable

# Free text PostgreSQL can store (no NUL), at least one character.
TEXT = "[^\\u0000]+"


class JsonBody(serializers.Serializer):
    """A JSON object body; text PostgreSQL cannot store (a `\\u0000`, an unpaired surrogate)
    is refused at any depth, and text is NFC-normalised, as the form bodies are."""

    @classmethod
    def check_json(cls, data: Any) -> dict:
        """The validated body; invalid input raises a 400 naming the field."""
        body = cls(data=data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def to_internal_value(self, data: Any) -> dict:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"request": ["must be a JSON object"]})
        value = super().to_internal_value(data)
        if not storable(value):
            raise serializers.ValidationError(
                {"request": ["must not contain NUL or unpaired surrogate characters"]}
            )
        return nfc(value)


def text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length,
        trim_whitespace=False,
        validators=[Pattern(TEXT, "must be text without NUL")],
        **kwargs,
    )


def base64url(max_length: int, **kwargs: Any) -> serializers.CharField:
    """A binary WebAuthn field, base64url-encoded (`PublicKeyCredential.toJSON()`)."""
    return serializers.CharField(
        max_length=max_length,
        trim_whitespace=False,
        validators=[Pattern(BASE64URL_PATTERN, "must be base64url")],
        **kwargs,
    )


def optional(field_class: type[serializers.Field], *args: Any, **kwargs: Any) -> Any:
    return field_class(*args, required=False, allow_null=True, **kwargs)


class RelyingPartyBody(JsonBody):
    id = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=253,
        validators=[Pattern(RP_ID_PATTERN, "must be a domain name, without scheme or port")],
        help_text="The relying party id: the site's domain (`example.com`), no scheme or port.",
    )
    name = text(255, required=False, allow_null=True, help_text="Shown by authenticators.")
    origins = serializers.ListField(
        child=serializers.CharField(
            max_length=260,
            validators=[Pattern(ORIGIN_PATTERN, "must be an origin (https://host[:port])")],
        ),
        required=False,
        allow_null=True,
        max_length=20,
        help_text="The origins registrations and assertions may come from "
        "(`https://example.com`, `http://localhost:8000`, `android:apk-key-hash:...`).",
    )


class PasskeyConfigBody(JsonBody):
    relying_party = RelyingPartyBody(required=False, allow_null=True)
    # Labelled choices: the schema's enum is not the Service form's `Passkeys.*` one.
    authenticator_attachment = optional(
        serializers.ChoiceField, [(value, value.capitalize()) for value in ATTACHMENTS]
    )
    discoverable_credentials = optional(serializers.ChoiceField, PREFERENCES)
    user_verification = optional(serializers.ChoiceField, PREFERENCES)


class PasskeyFactorCreateBody(JsonBody):
    friendly_name = text(64)
    identity = serializers.CharField(
        max_length=64,
        validators=[
            Pattern(IDENTITY_PATTERN[1:-1], "must be 8-64 characters of A-Z, a-z, 0-9 and '-'")
        ],
    )
    config = PasskeyConfigBody(
        required=False,
        allow_null=True,
        help_text="Each setting falls back to the Service's `Passkeys.*`: 400/60393 when an "
        "authenticator criterion is set in neither, 400/60371 when the relying party id or "
        "origins are.",
    )


class AttestationResponseBody(JsonBody):
    attestationObject = base64url(16384)
    clientDataJSON = base64url(4096)
    transports = serializers.ListField(
        child=text(32), required=False, allow_null=True, max_length=8
    )


class CredentialBody(JsonBody):
    id = base64url(1400, help_text="The credential id, base64url (as `rawId`).")
    rawId = base64url(1400, required=False, allow_null=True)
    authenticatorAttachment = optional(serializers.ChoiceField, ("platform", "cross-platform"))
    type = optional(serializers.ChoiceField, ("public-key",))


class RegistrationCredentialBody(CredentialBody):
    response = AttestationResponseBody()


_CREATION_OPTIONS = {
    "type": "object",
    "nullable": True,
    "description": "`{publicKey: PublicKeyCredentialCreationOptions}` for "
    "`navigator.credentials.create()`, binaries base64url (rp, user, challenge, "
    "pubKeyCredParams ES256/EdDSA/RS256, timeout, excludeCredentials, "
    "authenticatorSelection, attestation). Returned only here, never again.",
}


class PasskeyFactorSerializer(FactorSerializer):
    """The create answer: the factor, `binding` (null for passkeys) and `options`."""

    binding = serializers.SerializerMethodField()
    options = serializers.SerializerMethodField()

    @extend_schema_field({"type": "object", "nullable": True})
    def get_binding(self, factor) -> None:
        return None

    @extend_schema_field(_CREATION_OPTIONS)
    def get_options(self, factor) -> dict:
        return self.context["options"]
