"""Input forms and output shapes of `Verification` and `VerificationCheck` (Twilio Verify
v2; wire reference 4.3, 4.6)."""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from challenges.destinations import PHONE_CHANNELS, TEXT_CHANNELS, is_landline, normalize_to
from challenges.models import DeliveryAttempt, Verification
from channels import registry
from verify_platform.lib.api.fields import (
    AbsoluteUrlField,
    absolute_url,
    datetime_text,
    text,
)
from verify_platform.lib.api.forms import JSONObjectField, TwilioForm

CHANNELS = ("sms", "whatsapp", "call", "email", "auto")
VERIFICATION_UPDATE_STATUSES = ("canceled", "approved")
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
    rate_limits = JSONObjectField(
        required=False,
        max_length=4096,
        help_text='The values to meter, keyed by rate limit `unique_name`: `{"end_user_ip": '
        '"203.0.113.7"}`. Every bucket of each named rate limit counts this start; a full one '
        "refuses it with 429/60203 before anything is sent.",
    )

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


def _update_status(value: str) -> None:
    if value not in VERIFICATION_UPDATE_STATUSES:
        raise serializers.ValidationError("must be canceled or approved")


class VerificationUpdateForm(TwilioForm):
    # A string, not a ChoiceField: its enum would collide in the schema with the other
    # `Status` parameters (challenges, webhooks) that have other values.
    status = serializers.CharField(
        validators=[_update_status], help_text="`canceled` or `approved`"
    )


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
    never fired (canceled or still waiting) are not sends. A verification the domain has just
    written carries its attempts as written (`attempts_written`): nothing to read back."""
    written = getattr(verification, "attempts_written", None)
    return [
        a
        for a in (verification.attempts.all() if written is None else written)
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

    def to_representation(self, attempt) -> dict:
        return _attempt_shape(attempt)

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


def _attempt_shape(attempt: DeliveryAttempt) -> dict:
    """What `SendCodeAttemptSerializer` renders for `attempt`."""
    moment = attempt.date_sent or attempt.date_created
    error = None
    if attempt.error_code is not None or attempt.error_message is not None:
        error = {"code": attempt.error_code, "message": attempt.error_message}
    return {
        "attempt_sid": str(attempt.sid),
        "channel": str(attempt.channel),
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": str(attempt.status),
        "error": error,
    }


# Fields for the schema, the body written out in `to_representation`, as for the challenge.
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

    def to_representation(self, verification: Verification) -> dict:
        return {
            "sid": str(verification.sid),
            "service_sid": str(verification.service_id),
            "account_sid": str(verification.service.account_id),
            "to": str(verification.to),
            "channel": str(verification.channel),
            "status": str(verification.status),
            "valid": bool(verification.valid),
            "amount": text(verification.amount),
            "payee": text(verification.payee),
            "date_created": datetime_text(verification.date_created),
            "date_updated": datetime_text(verification.date_updated),
        }


_VERIFICATION_PATH = "/v2/Services/{o.service_id}/Verifications/{o.sid}"


class VerificationSerializer(_VerificationBase):
    lookup = serializers.SerializerMethodField()
    send_code_attempts = serializers.SerializerMethodField()
    sna = serializers.SerializerMethodField()
    url = AbsoluteUrlField(_VERIFICATION_PATH)

    def get_lookup(self, verification) -> dict:
        return {}

    @extend_schema_field(SendCodeAttemptSerializer(many=True))
    def get_send_code_attempts(self, verification) -> list:
        # `SendCodeAttemptSerializer`'s shape, built directly: a nested serializer per answer
        # deep-copies its fields every time, which costs more than the rest of the answer.
        return [_attempt_shape(attempt) for attempt in visible_attempts(verification)]

    @extend_schema_field({"type": "object", "nullable": True})
    def get_sna(self, verification) -> None:
        return None

    def to_representation(self, verification: Verification) -> dict:
        return {
            **super().to_representation(verification),
            "lookup": self.get_lookup(verification),
            "send_code_attempts": self.get_send_code_attempts(verification),
            "sna": self.get_sna(verification),
            "url": absolute_url(self.context["request"], _VERIFICATION_PATH.format(o=verification)),
        }


class VerificationCheckSerializer(_VerificationBase):
    sna_attempts_error_codes = serializers.SerializerMethodField()

    @extend_schema_field({"type": "array", "items": {"type": "object"}, "nullable": True})
    def get_sna_attempts_error_codes(self, verification) -> list:
        return []

    def to_representation(self, verification: Verification) -> dict:
        return {
            **super().to_representation(verification),
            "sna_attempts_error_codes": self.get_sna_attempts_error_codes(verification),
        }
