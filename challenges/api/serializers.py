"""Verification and VerificationCheck: input forms and output shapes (wire reference 4.2, 4.3)."""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from challenges.destinations import PHONE_CHANNELS, TEXT_CHANNELS, is_landline, normalize_to
from challenges.models import DeliveryAttempt
from channels import registry
from verify_platform.lib.api.fields import AbsoluteUrlField
from verify_platform.lib.api.forms import TwilioForm

CHANNELS = ("sms", "whatsapp", "call", "email", "auto")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?")
_CODE = re.compile(r"[0-9]{4,10}")  # ASCII digits only: [0-9], not \d
_APP_HASH = re.compile(r"[A-Za-z0-9+/=]{1,32}")


def _code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise serializers.ValidationError("must be 4 to 10 ASCII digits")
    return value


def _channel(value: str) -> None:
    if value not in CHANNELS:
        raise serializers.ValidationError(f"must be one of {', '.join(CHANNELS)}")
    if value != "auto" and value not in registry.configured_channels():
        raise serializers.ValidationError("this channel is not enabled")


def _printable(value: str) -> None:
    if not value.isprintable():
        raise serializers.ValidationError("must not contain control characters")


def _locale(value: str) -> None:
    if not _LOCALE.fullmatch(value):
        raise serializers.ValidationError("must be a language tag such as en or pt-BR")


def _app_hash(value: str) -> None:
    if not _APP_HASH.fullmatch(value):
        raise serializers.ValidationError("must be the app's SMS retriever hash")


class VerificationCreateForm(TwilioForm):
    """Needs `context={"service": service}`: channels and CustomCode depend on it. (Field
    validators, not `validate_<name>` methods: DRF looks those up by the wire name.)"""

    to = serializers.CharField(max_length=320, trim_whitespace=False)
    channel = serializers.CharField(max_length=16, trim_whitespace=False, validators=[_channel])
    locale = serializers.CharField(
        max_length=16, required=False, trim_whitespace=False, validators=[_locale]
    )
    custom_friendly_name = serializers.CharField(
        max_length=30, required=False, validators=[_printable]
    )
    custom_code = serializers.CharField(
        max_length=10, required=False, trim_whitespace=False, validators=[_code]
    )
    app_hash = serializers.CharField(
        max_length=32, required=False, trim_whitespace=False, validators=[_app_hash]
    )
    amount = serializers.CharField(max_length=64, required=False)
    payee = serializers.CharField(max_length=64, required=False)

    def validate(self, attrs: dict) -> dict:
        if "custom_code" in attrs and not self.context["service"].custom_code_enabled:
            raise serializers.ValidationError(
                {"CustomCode": "custom codes are not enabled for this service"}
            )
        if "locale" in attrs:
            attrs["locale"] = attrs["locale"].replace("_", "-")
        channel = attrs["channel"]
        to = normalize_to(attrs["to"])
        if to is None:
            raise serializers.ValidationError({"To": "must be an E.164 phone number"})
        email = "@" in to
        if channel == "email" and not email:
            raise serializers.ValidationError({"To": "must be an e-mail address for email"})
        if channel in PHONE_CHANNELS and email:
            raise serializers.ValidationError({"To": f"must be a phone number for {channel}"})
        if channel in TEXT_CHANNELS and is_landline(to):
            raise serializers.ValidationError({"To": f"a landline cannot receive {channel}"})
        attrs["to"] = to
        return attrs


class VerificationUpdateForm(TwilioForm):
    status = serializers.ChoiceField(("canceled", "approved"))


class VerificationCheckForm(TwilioForm):
    code = serializers.CharField(max_length=10, trim_whitespace=False, validators=[_code])
    to = serializers.CharField(max_length=320, required=False, trim_whitespace=False)
    verification_sid = serializers.CharField(max_length=34, required=False)
    amount = serializers.CharField(max_length=64, required=False)
    payee = serializers.CharField(max_length=64, required=False)

    def validate(self, attrs: dict) -> dict:
        if "to" in attrs:
            attrs["to"] = normalize_to(attrs["to"])
            if attrs["to"] is None:
                raise serializers.ValidationError(
                    {"To": "must be an E.164 phone number or e-mail address"}
                )
        elif not attrs.get("verification_sid"):
            raise serializers.ValidationError({"To": "To or VerificationSid is required"})
        return attrs


def visible_attempts(verification) -> list[DeliveryAttempt]:
    """Every send and fallback step that went out or is about to; fallback timers that
    never fired (canceled or still waiting) are not sends."""
    return [
        a
        for a in verification.attempts.all()
        if not (
            a.step > 0
            and a.tries == 0
            and a.status in (DeliveryAttempt.Status.SCHEDULED, DeliveryAttempt.Status.CANCELED)
        )
    ]


class SendCodeAttemptSerializer(serializers.Serializer):
    attempt_sid = serializers.CharField(source="sid")
    channel = serializers.CharField()
    time = serializers.SerializerMethodField()
    status = serializers.CharField(help_text="Extension: the delivery status of this attempt.")
    error = serializers.SerializerMethodField(help_text="Extension: the provider's error.")

    def get_time(self, attempt) -> str:
        moment = attempt.date_sent or attempt.date_created
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    )
    def get_error(self, attempt) -> dict | None:
        if attempt.error_code is None and attempt.error_message is None:
            return None
        return {"code": attempt.error_code, "message": attempt.error_message}


class _VerificationBase(serializers.Serializer):
    sid = serializers.CharField()
    service_sid = serializers.CharField(source="service_id")
    account_sid = serializers.CharField(source="service.account_id")
    to = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField()
    valid = serializers.BooleanField()
    amount = serializers.CharField(allow_null=True)
    payee = serializers.CharField(allow_null=True)
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()


class VerificationSerializer(_VerificationBase):
    lookup = serializers.SerializerMethodField()
    send_code_attempts = serializers.SerializerMethodField()
    sna = serializers.SerializerMethodField()
    url = AbsoluteUrlField("/v2/Services/{o.service_id}/Verifications/{o.sid}")

    def get_lookup(self, verification) -> dict:
        return {}

    @extend_schema_field(SendCodeAttemptSerializer(many=True))
    def get_send_code_attempts(self, verification) -> list:
        return SendCodeAttemptSerializer(visible_attempts(verification), many=True).data

    @extend_schema_field({"type": "object", "nullable": True})
    def get_sna(self, verification) -> None:
        return None


class VerificationCheckSerializer(_VerificationBase):
    sna_attempts_error_codes = serializers.SerializerMethodField()

    @extend_schema_field({"type": "array", "items": {"type": "object"}, "nullable": True})
    def get_sna_attempts_error_codes(self, verification) -> list:
        return []
