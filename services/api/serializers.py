"""Service input forms and output shape (Twilio Verify v2 `Service`)."""

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from channels.templates import TTS_VOICE_PATTERN
from verify_platform.lib.api.fields import AbsoluteUrlField, LinksField, sid_field
from verify_platform.lib.api.forms import (
    OneOf,
    Pattern,
    StrictIntegerField,
    TwilioBooleanField,
    TwilioForm,
    json_string_schema,
)
from verify_platform.lib.phones import E164_PATTERN

PASSKEY_PREFERENCES = ("required", "preferred", "discouraged")
FALLBACK_CHANNELS = ("sms", "whatsapp", "call", "email")
FALLBACK_MAX_STEPS = 5
FALLBACK_TIMEOUT_RANGE = (5, 600)


def _fallback_schema() -> dict:
    """What `FallbackField` accepts, as JSON Schema: up to five steps, every one but the last
    with a timeout (one branch per length, the last step's timeout optional)."""
    low, high = FALLBACK_TIMEOUT_RANGE
    channel = {"type": "string", "enum": list(FALLBACK_CHANNELS)}
    timeout = {"type": "integer", "minimum": low, "maximum": high}
    last = {"type": "object", "properties": {"channel": channel, "timeout": timeout}}
    last.update(required=["channel"], additionalProperties=False)
    timed = {**last, "required": ["channel", "timeout"]}
    return {
        "anyOf": [
            {
                "type": "array",
                "prefixItems": [timed] * (length - 1) + [last],
                "items": False,
                "minItems": length,
            }
            for length in range(1, FALLBACK_MAX_STEPS + 1)
        ]
        + [{"type": "array", "maxItems": 0}]
    }


@extend_schema_field(
    json_string_schema(
        _fallback_schema(),
        max_length=1024,
        description="Extension. JSON list of steps, e.g. "
        '[{"channel": "whatsapp", "timeout": 30}, {"channel": "sms"}]; `[]` clears the plan.',
    )
)
class FallbackField(serializers.Field):
    """Extension `Fallback`: a JSON list of channel steps, sent as one string.

    Every step but the last needs a `timeout` (seconds, 5..600) after which the next step
    sends the same code; the last step may omit it. `[]` clears the plan.
    """

    default_error_messages = {"invalid": "{detail}"}

    def to_internal_value(self, data) -> list[dict]:
        if not isinstance(data, str) or len(data) > 1024:
            self.fail("invalid", detail="must be a JSON list of at most 1024 characters")
        try:
            steps = json.loads(data)
        except (ValueError, RecursionError):
            self.fail("invalid", detail="must be a JSON list")
        if not isinstance(steps, list):
            self.fail("invalid", detail="must be a JSON list")
        if len(steps) > FALLBACK_MAX_STEPS:
            self.fail("invalid", detail=f"at most {FALLBACK_MAX_STEPS} steps")
        low, high = FALLBACK_TIMEOUT_RANGE
        plan = []
        for index, step in enumerate(steps):
            last = index == len(steps) - 1
            if not isinstance(step, dict) or not set(step) <= {"channel", "timeout"}:
                self.fail("invalid", detail="each step is {channel, timeout}")
            channel = step.get("channel")
            if channel not in FALLBACK_CHANNELS:
                self.fail("invalid", detail=f"unknown channel in step {index + 1}")
            timeout = step.get("timeout")
            if timeout is None and not last:
                self.fail("invalid", detail=f"step {index + 1} needs a timeout")
            if timeout is not None and (type(timeout) is not int or not low <= timeout <= high):
                self.fail("invalid", detail=f"timeouts are whole seconds {low}..{high}")
            plan.append({"channel": channel, **({"timeout": timeout} if timeout else {})})
        return plan

    def to_representation(self, value):
        return value


class ServiceForm(TwilioForm):
    """Create requires FriendlyName; update uses the same form with `partial=True`."""

    friendly_name = serializers.CharField(max_length=30)
    code_length = StrictIntegerField(min_value=4, max_value=10, required=False)
    lookup_enabled = TwilioBooleanField(required=False)
    skip_sms_to_landlines = TwilioBooleanField(required=False)
    dtmf_input_required = TwilioBooleanField(required=False)
    tts_name = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        # Empty clears it; the calls' renderer reads the name with the same pattern.
        validators=[Pattern(f"(?:{TTS_VOICE_PATTERN})?", "must be a Twilio <Say> voice")],
        help_text="The text-to-speech voice calls read the code in: `Polly.<Voice>`, "
        "`Polly.<Voice>-Neural`, `Google.<language>-<Voice>`, or `man`, `woman`, `alice`.",
    )
    psd2_enabled = TwilioBooleanField(required=False)
    do_not_share_warning_enabled = TwilioBooleanField(required=False)
    custom_code_enabled = TwilioBooleanField(required=False)
    verify_event_subscription_enabled = TwilioBooleanField(
        required=False,
        validators=[
            OneOf(
                (False,), "Event Streams sinks are not available here; use the service's Webhooks"
            )
        ],
        help_text="Only `false`: this server has no Event Streams sinks; a service's events "
        "reach the tenant through its Webhooks.",
    )
    push__include_date = TwilioBooleanField(required=False)
    push__apn_credential_sid = sid_field("CR", required=False)
    push__fcm_credential_sid = sid_field("CR", required=False)
    totp__issuer = serializers.CharField(max_length=64, required=False, allow_blank=True)
    totp__time_step = StrictIntegerField(min_value=20, max_value=60, required=False)
    totp__code_length = StrictIntegerField(min_value=3, max_value=8, required=False)
    totp__skew = StrictIntegerField(min_value=0, max_value=2, required=False)
    default_template_sid = sid_field("HJ", required=False)
    whatsapp__msg_service_sid = sid_field("MG", required=False)
    whatsapp__from = serializers.CharField(
        max_length=25,
        required=False,
        trim_whitespace=False,
        validators=[
            Pattern(
                f"(?:whatsapp:)?{E164_PATTERN}",
                "must be the E.164 number of a WhatsApp sender (whatsapp:+14155238886)",
                length=(8, 25),
            )
        ],
        help_text="The WhatsApp sender of the Service's Messaging Service "
        "(`Whatsapp.MsgServiceSid`); WhatsApp codes leave from it.",
    )
    passkeys__relying_party__id = serializers.CharField(max_length=255, required=False)
    passkeys__relying_party__name = serializers.CharField(max_length=255, required=False)
    passkeys__relying_party__origins = serializers.CharField(max_length=1024, required=False)
    passkeys__authenticator_attachment = serializers.ChoiceField(
        ("platform", "cross-platform", "any"), required=False
    )
    passkeys__discoverable_credentials = serializers.ChoiceField(
        PASSKEY_PREFERENCES, required=False
    )
    passkeys__user_verification = serializers.ChoiceField(PASSKEY_PREFERENCES, required=False)
    fallback = FallbackField(required=False)

    def model_fields(self) -> dict:
        """validated_data keyed by model field (`totp__time_step` -> `totp_time_step`)."""
        return {name.replace("__", "_"): v for name, v in self.validated_data.items()}


class _PushSerializer(serializers.Serializer):
    include_date = serializers.BooleanField(source="push_include_date")
    apn_credential_sid = serializers.CharField(source="push_apn_credential_sid", allow_null=True)
    fcm_credential_sid = serializers.CharField(source="push_fcm_credential_sid", allow_null=True)


class _TotpSerializer(serializers.Serializer):
    issuer = serializers.CharField(source="effective_totp_issuer")
    time_step = serializers.IntegerField(source="totp_time_step")
    code_length = serializers.IntegerField(source="totp_code_length")
    skew = serializers.IntegerField(source="totp_skew")


class _WhatsappSerializer(serializers.Serializer):
    msg_service_sid = serializers.CharField(source="whatsapp_msg_service_sid", allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(source="whatsapp_from", allow_null=True)
        return fields


class _PasskeysSerializer(serializers.Serializer):
    relying_party = serializers.SerializerMethodField()
    authenticator_attachment = serializers.CharField(
        source="passkeys_authenticator_attachment", allow_null=True
    )
    discoverable_credentials = serializers.CharField(
        source="passkeys_discoverable_credentials", allow_null=True
    )
    user_verification = serializers.CharField(source="passkeys_user_verification", allow_null=True)

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "id": {"type": "string", "nullable": True},
                "name": {"type": "string", "nullable": True},
                "origins": {"type": "array", "items": {"type": "string"}},
            },
        }
    )
    def get_relying_party(self, service) -> dict | None:
        origins = service.passkeys_relying_party_origins or ""
        # Any of the three set shows the object: `Origins` sent alone comes back too.
        if not (
            service.passkeys_relying_party_id
            or service.passkeys_relying_party_name
            or origins.strip(", ")
        ):
            return None
        return {
            "id": service.passkeys_relying_party_id,
            "name": service.passkeys_relying_party_name,
            "origins": [o.strip() for o in origins.split(",") if o.strip()],
        }


_SERVICE_PATH = "/v2/Services/{o.sid}"


class ServiceSerializer(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = serializers.CharField(source="account_id")
    friendly_name = serializers.CharField()
    code_length = serializers.IntegerField()
    lookup_enabled = serializers.BooleanField()
    psd2_enabled = serializers.BooleanField()
    skip_sms_to_landlines = serializers.BooleanField()
    dtmf_input_required = serializers.BooleanField()
    tts_name = serializers.CharField(allow_null=True)
    do_not_share_warning_enabled = serializers.BooleanField()
    custom_code_enabled = serializers.BooleanField()
    push = _PushSerializer(source="*")
    totp = _TotpSerializer(source="*")
    whatsapp = _WhatsappSerializer(source="*")
    passkeys = _PasskeysSerializer(source="*")
    default_template_sid = serializers.CharField(allow_null=True)
    verify_event_subscription_enabled = serializers.BooleanField()
    fallback = serializers.JSONField(
        help_text="Extension: the channel steps `Channel=auto` follows, in order."
    )
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    url = AbsoluteUrlField(_SERVICE_PATH)
    links = LinksField(
        {
            "verification_checks": _SERVICE_PATH + "/VerificationCheck",
            "verifications": _SERVICE_PATH + "/Verifications",
            "rate_limits": _SERVICE_PATH + "/RateLimits",
            "messaging_configurations": _SERVICE_PATH + "/MessagingConfigurations",
            "entities": _SERVICE_PATH + "/Entities",
            "webhooks": _SERVICE_PATH + "/Webhooks",
            "access_tokens": _SERVICE_PATH + "/AccessTokens",
        }
    )
