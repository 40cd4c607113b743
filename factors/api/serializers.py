"""Factor input forms and output shapes (Twilio Verify v2 `Factor` and `NewFactor`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from factors.api.push_serializers import PUSH_CONFIG_NAMES, PushCreateFields, PushUpdateFields
from factors.models import PHONE_FACTOR_CHANNELS, FactorType, TotpAlgorithm
from verify_platform.lib.api.fields import AbsoluteUrlField
from verify_platform.lib.api.forms import JSONObjectField, StrictIntegerField, TwilioForm
from verify_platform.lib.phones import E164_PATTERN as E164

# E.164: `+`, a country code that does not start with 0, at most 15 digits in all.
_BASE32 = "[A-Za-z2-7]"
# Base32 without padding that decodes to 16 to 160 bytes: groups of eight characters and a
# tail of 2, 4, 5 or 7 (the lengths base32 has), at least 128 bits (`totp.normalize_secret`).
SECRET = (
    f"(?:{_BASE32}{{8}}){{3,31}}(?:{_BASE32}{{2}}|{_BASE32}{{4,5}}|{_BASE32}{{7}})"
    f"|(?:{_BASE32}{{8}}){{4,32}}"
)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 32,
        "pattern": f"^(?:{E164})$",
        "description": "**Extension**, sms/whatsapp/voice: the E.164 number (same rules as a "
        "verification's `To`; no landline for sms or whatsapp). Returned in full only in the "
        "create response, masked in every later read. Which numbers exist is the numbering "
        "plans' (phonenumbers) decision; the usual separators are also accepted.",
    }
)
class BindingPhoneNumberField(serializers.CharField):
    """Whether it is a phone number is the domain's decision (`phone_factor_create`); the
    schema publishes the E.164 shape."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=32, trim_whitespace=False, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 256,
        "pattern": f"^(?:{SECRET})$",
        "description": "totp: base32 seed of at least 128 bits (any case; `=` padding is also "
        "accepted). Generated (HMAC-output length) when omitted.",
    }
)
class BindingSecretField(serializers.CharField):
    """Whether it is a seed is the domain's decision (`totp.normalize_secret`); the schema
    publishes the unpadded shape."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=256, trim_whitespace=False, **kwargs)


class _ConfigFields(TwilioForm):
    config__alg = serializers.ChoiceField(TotpAlgorithm.choices, required=False)
    config__code_length = StrictIntegerField(min_value=3, max_value=8, required=False)
    config__time_step = StrictIntegerField(min_value=20, max_value=60, required=False)
    config__skew = StrictIntegerField(min_value=0, max_value=2, required=False)

    def config(self) -> dict:
        prefix = "config__"
        return {
            name[len(prefix) :]: value
            for name, value in self.validated_data.items()
            if name.startswith(prefix) and name not in PUSH_CONFIG_NAMES
        }


class FactorCreateForm(_ConfigFields, PushCreateFields):
    friendly_name = serializers.CharField(max_length=64)
    factor_type = serializers.ChoiceField(
        FactorType.choices,
        help_text="`totp`, or **Extension** `recovery_codes` (10 single-use codes returned "
        "once in `binding.codes`; a new set replaces the entity's previous one), or `push` (the "
        "device's key in `Binding.*`; an app enrols with an access token, see "
        "docs/push-protocol.md), or "
        "**Extension** `sms`, `whatsapp` or `voice` (a phone factor: `Binding.PhoneNumber` "
        "gets a code on that channel; the factor update with that code as `AuthPayload` "
        "verifies it).",
    )
    binding__phone_number = BindingPhoneNumberField(required=False)
    binding__secret = BindingSecretField(required=False)
    metadata = JSONObjectField(required=False, string_values=True)


class FactorUpdateForm(_ConfigFields, PushUpdateFields):
    friendly_name = serializers.CharField(max_length=64, required=False)
    auth_payload = serializers.CharField(
        required=False,
        max_length=256,
        trim_whitespace=False,
        help_text="push: base64 of the DER ECDSA-SHA256 signature of the factor SID by the "
        "device's key (a wrong one is 400/60200). Otherwise a current code: verifies an "
        "unverified factor. Must be exactly "
        "`code_length` ASCII digits (else 400/60200); for a phone factor (extension), the "
        "code that was sent (5 wrong ones or 10 minutes end it: 400/60317). Failed checks are counted per factor: "
        "after 5 consecutive failures each check waits an exponentially growing delay "
        "(429/60310 with Retry-After); after 100 the factor is locked (429/60310) until an "
        "operator unlocks it.",
    )


class FactorsDeleteQuery(TwilioForm):
    factor_type = serializers.ListField(
        child=serializers.ChoiceField(FactorType.choices),
        required=False,
        allow_empty=False,
        max_length=len(FactorType.choices),
        help_text="**Extension**: the factor types to remove; repeat the key for each. "
        "Default: `totp` and `recovery_codes` (turning two-factor sign-in off; phone factors "
        "stay unless named).",
    )


_FACTOR_PATH = "/v2/Services/{o.service_id}/Entities/{o.entity.identity}/Factors/{o.sid}"


class FactorSerializer(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = serializers.CharField(source="service.account_id")
    service_sid = serializers.CharField(source="service_id")
    entity_sid = serializers.CharField(source="entity_id")
    identity = serializers.CharField(source="entity.identity")
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    friendly_name = serializers.CharField()
    status = serializers.CharField()
    factor_type = serializers.CharField()
    config = serializers.SerializerMethodField()
    metadata = serializers.JSONField(allow_null=True)
    url = AbsoluteUrlField(_FACTOR_PATH)

    @extend_schema_field(
        {
            "type": "object",
            "description": "totp: `{alg, skew, code_length, time_step}`; recovery_codes "
            "(**Extension**): `{remaining}`; sms/whatsapp/voice (**Extension**): "
            "`{channel, phone_number}` with the number masked (`+1******0100`); push: "
            "`{sdk_version, app_id, notification_platform, notification_token, "
            "credential_sid}` (`credential_sid`, the `kid` of the device's tokens, is the "
            "factor SID); passkeys: `{relying_party: {id, name, origins}, "
            "authenticator_attachment, discoverable_credentials, user_verification}`",
        }
    )
    def get_config(self, factor) -> dict:
        if factor.factor_type == FactorType.PASSKEYS:
            return factor.passkey.config
        if factor.factor_type == FactorType.PUSH:
            binding = factor.push_binding
            return {
                "sdk_version": binding.sdk_version or None,
                "app_id": binding.app_id,
                "notification_platform": binding.notification_platform,
                "notification_token": binding.notification_token or None,
                "credential_sid": factor.sid,
            }
        if factor.factor_type in PHONE_FACTOR_CHANNELS:
            return {
                "channel": PHONE_FACTOR_CHANNELS[factor.factor_type],
                "phone_number": factor.phone_number_masked,
            }
        if factor.factor_type == FactorType.RECOVERY_CODES:
            remaining = getattr(factor, "recovery_remaining", None)
            if remaining is None:
                remaining = factor.recovery_codes.filter(date_used__isnull=True).count()
            return {"remaining": remaining}
        return {
            "alg": factor.alg,
            "skew": factor.skew,
            "code_length": factor.code_length,
            "time_step": factor.time_step,
        }


class NewFactorSerializer(FactorSerializer):
    """The create response: the only one that carries `binding`."""

    binding = serializers.SerializerMethodField()
    options = serializers.SerializerMethodField()

    @extend_schema_field(
        {
            "type": "object",
            "description": "totp: `{secret, uri, qr_code}` (`qr_code`, an **Extension**, is a "
            "`data:image/png;base64,...` QR of `uri`); recovery_codes: `{codes}`; "
            "sms/whatsapp/voice: `{phone_number}` in full; push: `{alg, public_key}`. Returned "
            "only here, never again.",
        }
    )
    def get_binding(self, factor) -> dict:
        return self.context["binding"]

    @extend_schema_field({"type": "object", "nullable": True})
    def get_options(self, factor) -> None:
        return None
