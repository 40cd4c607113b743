"""Output shapes of `Verification` and `VerificationCheck` (Twilio Verify v2; wire reference
4.3, 4.6); their input forms are in `verification_forms`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from challenges.models import DeliveryAttempt, Verification
from verify_platform.lib.api.fields import (
    AbsoluteUrlField,
    absolute_url,
    datetime_text,
    text,
)
from verify_platform.lib.phones import carrier_name, line_type, region_of


def number_lookup(to: str) -> dict:
    """The `lookup` object of a phone number: Twilio's carrier shape, from offline data."""
    return {
        "country_code": region_of(to),
        "carrier": {
            "error_code": None,
            "name": carrier_name(to),
            "mobile_country_code": None,
            "mobile_network_code": None,
            "type": line_type(to),
        },
    }


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

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "With the service's LookupEnabled, what phonenumbers' offline data "
            "knows of a phone number: `country_code` and `carrier` (`name`, `type`; "
            "`mobile_country_code` and `mobile_network_code` are null: no network is asked).",
        }
    )
    def get_lookup(self, verification) -> dict | None:
        if not verification.service.lookup_enabled or "@" in verification.to:
            return {}
        return number_lookup(verification.to)

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
