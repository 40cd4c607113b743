"""Input filters and output shapes of the Verification Attempts API (`/v2/Attempts`,
`/v2/Attempts/Summary`), as Twilio's OpenAPI description names them."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from challenges import attempt_queries
from challenges.api.form_rules import DestinationField, any_case, destination_refusal
from challenges.destinations import normalize_to
from challenges.models import DeliveryAttempt, OtpStatus
from verify_platform.lib.api.fields import AbsoluteUrlField, absolute_url, datetime_text, sid_field
from verify_platform.lib.api.forms import OneOf, Pattern, TwilioForm
from verify_platform.lib.phones import mask_phone

CHANNELS = ("sms", "call", "email", "whatsapp", "rbm")
CONVERSION_STATUSES = ("converted", "unconverted")
# `status.lower()` is what the queries read: only ASCII case variants of the two words
# lower-case to them.
_CONVERSION = Pattern(
    any_case(*CONVERSION_STATUSES), "must be converted or unconverted", length=(9, 11)
)
_COUNTRY = Pattern("[A-Za-z]{2}", "must be an ISO 3166 alpha-2 country code", length=(2, 2))
_PREFIX = Pattern(
    r"\+[0-9]{1,15}",
    "must be a + followed by the first digits of a number",
    length=(2, 16),
)


# Strings with validators, not ChoiceFields: their enums would collide in the schema with the
# other `Channel` and `Status` parameters, which have other values.
class _AttemptWindow(TwilioForm):
    date_created_after = serializers.DateTimeField(
        required=False, help_text="Only attempts created at or after this time."
    )
    date_created_before = serializers.DateTimeField(
        required=False, help_text="Only attempts created before this time."
    )
    country = serializers.CharField(
        required=False,
        validators=[_COUNTRY],
        help_text="ISO 3166 alpha-2 code of the destination's country (phone numbers only).",
    )
    channel = serializers.CharField(
        required=False,
        validators=[OneOf(CHANNELS)],
        help_text="`sms`, `call`, `email`, `whatsapp`.",
    )
    verify_service_sid = sid_field("VA", required=False)

    def filters(self) -> attempt_queries.AttemptFilter:
        """The validated query as the queries' filter."""
        data = self.validated_data
        status = data.get("status")
        country = data.get("country")
        return attempt_queries.AttemptFilter(
            date_created_after=data.get("date_created_after"),
            date_created_before=data.get("date_created_before"),
            to=data.get("channel_data__to"),
            country=country.upper() if country else None,
            channel=data.get("channel"),
            service_sid=data.get("verify_service_sid"),
            verification_sid=data.get("verification_sid"),
            converted=None if status is None else status.lower() == "converted",
            destination_prefix=data.get("destination_prefix"),
        )


class AttemptListQuery(_AttemptWindow):
    channel_data__to = DestinationField(required=False)
    verification_sid = sid_field("VE", required=False)
    status = serializers.CharField(
        required=False,
        validators=[_CONVERSION],
        help_text="Conversion status: `converted` (the verification was approved) or "
        "`unconverted`; either case.",
    )

    def validate(self, attrs: dict) -> dict:
        if "channel_data__to" in attrs:
            raw = attrs["channel_data__to"]
            attrs["channel_data__to"] = normalize_to(raw)
            if attrs["channel_data__to"] is None:
                refusal = "must be an E.164 phone number or e-mail address"
                raise serializers.ValidationError(
                    {"ChannelData.To": destination_refusal(raw, refusal)}
                )
        return attrs


class AttemptSummaryQuery(_AttemptWindow):
    destination_prefix = serializers.CharField(
        required=False, validators=[_PREFIX], help_text="The first digits of an E.164 number."
    )


def mask_destination(to: str) -> str:
    """A destination as the Attempts API shows it: enough to recognise it, not to learn it
    (`+1******0100`, `j***@example.com`)."""
    if "@" not in to:
        return mask_phone(to)
    local, _, domain = to.rpartition("@")
    return f"{local[:1]}***@{domain}"


# The delivery status on Twilio's scales: `message_status` for messages, `call_status` for
# calls.
_CALL_STATUS = {
    DeliveryAttempt.Status.SCHEDULED: "queued",
    DeliveryAttempt.Status.SENDING: "queued",
    DeliveryAttempt.Status.SENT: "queued",
    DeliveryAttempt.Status.DELIVERED: "completed",
    DeliveryAttempt.Status.FAILED: "failed",
    DeliveryAttempt.Status.UNDELIVERED: "failed",
    DeliveryAttempt.Status.CANCELED: "canceled",
}
# The verification's side, `channel_data.status`: confirmed once approved, expired once it
# ended any other way.
_OPEN = (OtpStatus.PENDING, OtpStatus.FAILED)

CHANNEL_DATA_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "The destination (masked), the verification's and the message's status, "
    "the provider's id of the message (**extension**) and the provider's error code.",
    "properties": {
        "verification_sid": {"type": "string"},
        "to": {"type": "string", "description": "Masked: `+1******0100`, `j***@example.com`."},
        "status": {"type": "string", "enum": ["confirmed", "unconfirmed", "expired"]},
        "message_status": {"type": "string", "description": "sms, whatsapp, email"},
        "call_status": {"type": "string", "description": "call"},
        "provider_message_id": {"type": "string", "nullable": True},
        "error_code": {"type": "string", "nullable": True},
        "country": {"type": "string", "nullable": True},
        "code_length": {"type": "integer"},
        "locale": {"type": "string"},
        "device_ip": {
            "type": "string",
            "nullable": True,
            "description": "**Extension**: the start's `DeviceIp`.",
        },
        "tags": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "**Extension**: the start's `Tags`.",
        },
    },
}


def _channel_data(attempt: DeliveryAttempt) -> dict:
    verification = attempt.verification
    if verification.status == OtpStatus.APPROVED:
        status = "confirmed"
    elif verification.status in _OPEN:
        status = "unconfirmed"
    else:
        status = "expired"
    delivery = (
        {"call_status": _CALL_STATUS[attempt.status]}
        if attempt.channel == "call"
        else {"message_status": str(attempt.status)}
    )
    return {
        "verification_sid": str(attempt.verification_id),
        "to": mask_destination(verification.to),
        "status": status,
        **delivery,
        "provider_message_id": attempt.provider_message_id,
        "error_code": attempt.error_code,
        "country": attempt_queries.country_of(verification.to),
        "code_length": verification.code_length,
        "locale": verification.locale,
        "device_ip": verification.options.get("device_ip"),
        "tags": verification.options.get("tags", {}),
    }


_ATTEMPT_PATH = "/v2/Attempts/{o.sid}"


# Fields for the schema; `to_representation` writes the body out directly, as the other
# resources of this app do (a list page renders up to 1000 of them).
class AttemptSerializer(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = serializers.CharField()
    service_sid = serializers.CharField()
    verification_sid = serializers.CharField()
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    conversion_status = serializers.ChoiceField(CONVERSION_STATUSES)
    channel = serializers.CharField(help_text="`sms`, `call`, `email`, `whatsapp`.")
    price = serializers.SerializerMethodField()
    channel_data = serializers.SerializerMethodField()
    url = AbsoluteUrlField(_ATTEMPT_PATH)

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "description": "`{value, currency}` when the provider reported a price; null "
            "otherwise (no adapter reports one today).",
            "properties": {"value": {"type": "string"}, "currency": {"type": "string"}},
        }
    )
    def get_price(self, attempt) -> dict | None:
        return None

    @extend_schema_field(CHANNEL_DATA_SCHEMA)
    def get_channel_data(self, attempt) -> dict:
        return _channel_data(attempt)

    def to_representation(self, attempt: DeliveryAttempt) -> dict:
        request = self.context["request"]
        converted = attempt.verification.status == OtpStatus.APPROVED
        return {
            "sid": str(attempt.sid),
            "account_sid": str(request.user.pk),  # the tenant every query was scoped to
            "service_sid": str(attempt.verification.service_id),
            "verification_sid": str(attempt.verification_id),
            "date_created": datetime_text(attempt.date_created),
            "date_updated": datetime_text(attempt.date_updated),
            "conversion_status": "converted" if converted else "unconverted",
            "channel": str(attempt.channel),
            "price": self.get_price(attempt),
            "channel_data": self.get_channel_data(attempt),
            "url": absolute_url(request, _ATTEMPT_PATH.format(o=attempt)),
        }


def conversion_rate(total: int, converted: int) -> str | None:
    """`conversion_rate_percentage` as Twilio writes it: a decimal string of at most nine
    decimals (`"81.818181818"`, `"50"`), null when there was no attempt."""
    if total == 0:
        return None
    rate = (Decimal(converted) * 100 / Decimal(total)).quantize(Decimal("1e-9"))
    text = format(rate, "f").rstrip("0").rstrip(".")
    return text or "0"


class AttemptsSummarySerializer(serializers.Serializer):
    total_attempts = serializers.IntegerField()
    total_converted = serializers.IntegerField()
    total_unconverted = serializers.IntegerField()
    conversion_rate_percentage = serializers.CharField(
        allow_null=True, help_text="100 * total_converted / total_attempts; null for none."
    )
    url = serializers.URLField()

    def to_representation(self, totals: tuple[int, int]) -> dict:
        total, converted = totals
        return {
            "total_attempts": total,
            "total_converted": converted,
            "total_unconverted": total - converted,
            "conversion_rate_percentage": conversion_rate(total, converted),
            "url": absolute_url(self.context["request"], "/v2/Attempts/Summary"),
        }
