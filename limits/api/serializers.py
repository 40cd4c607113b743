"""Input forms and output shapes of `RateLimit` and `Bucket` (Twilio Verify v2; wire
reference 4.10) and of the Safe List (4.13)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from limits.domain import UNIQUE_NAME
from verify_platform.lib.api.fields import AbsoluteUrlField, LinksField
from verify_platform.lib.api.forms import StrictIntegerField, TwilioForm
from verify_platform.lib.phones import E164_PATTERN as E164

MAX_BUCKET_MAX = 1_000_000
MAX_BUCKET_INTERVAL = 86_400
# E.164: `+`, a country code that does not start with 0, at most 15 digits in all.


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 1024,
        "pattern": f"^(?:{UNIQUE_NAME.pattern})$",
        "description": "1-191 letters, digits, `-`, `_` or `.`; the key used in a "
        "Verification's `RateLimits`. Should not contain personal data. Any other value is "
        "400/60209.",
    }
)
class UniqueNameField(serializers.CharField):
    """`UniqueName`: its format is the domain's decision, with Twilio's own error code
    (60209) rather than the form's 60200, so the form only bounds its size; the schema
    publishes the domain's pattern."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=1024, trim_whitespace=False, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        # An empty name is malformed like any other, and the domain says so with 60209;
        # DRF's blank check would answer 60200 (and `allow_blank` would publish "" as valid).
        if data == "":
            return ""
        return super().run_validation(data)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "pattern": f"^(?:{E164})$",
        "description": "The phone number in E.164 format, e.g. `+14155550100`. Which numbers "
        "exist is the numbering plans' (phonenumbers) decision; the usual separators are also "
        "accepted.",
    }
)
class PhoneNumberField(serializers.CharField):
    """A phone number: whether it is one is the domain's decision (`normalize_phone`, 60200
    naming the parameter); the schema publishes the E.164 shape."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=64, trim_whitespace=False, **kwargs)


class RateLimitCreateForm(TwilioForm):
    unique_name = UniqueNameField()
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)


class RateLimitUpdateForm(TwilioForm):
    description = serializers.CharField(max_length=255, required=False, allow_blank=True)


class BucketForm(TwilioForm):
    """Create requires both; update (partial) neither."""

    max = StrictIntegerField(
        min_value=1,
        max_value=MAX_BUCKET_MAX,
        help_text="Starts allowed per `Interval` for one value of the rate limit's key.",
    )
    interval = StrictIntegerField(
        min_value=1, max_value=MAX_BUCKET_INTERVAL, help_text="Window length in seconds."
    )


_RATE_LIMIT_PATH = "/v2/Services/{o.service_id}/RateLimits/{o.sid}"


class RateLimitSerializer(serializers.Serializer):
    sid = serializers.CharField()
    service_sid = serializers.CharField(source="service_id")
    account_sid = serializers.CharField(source="account_id")
    unique_name = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    url = AbsoluteUrlField(_RATE_LIMIT_PATH)
    links = LinksField({"buckets": _RATE_LIMIT_PATH + "/Buckets"})


class BucketSerializer(serializers.Serializer):
    sid = serializers.CharField()
    rate_limit_sid = serializers.CharField(source="rate_limit_id")
    service_sid = serializers.CharField(source="service_id")
    account_sid = serializers.CharField(source="account_id")
    max = serializers.IntegerField()
    interval = serializers.IntegerField()
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    url = AbsoluteUrlField(
        "/v2/Services/{o.service_id}/RateLimits/{o.rate_limit_id}/Buckets/{o.sid}"
    )


class SafeListNumberCreateForm(TwilioForm):
    phone_number = PhoneNumberField()


class SafeListNumberSerializer(serializers.Serializer):
    sid = serializers.CharField()
    phone_number = serializers.CharField()
    # The `+` stays literal in the path, as the SDK sends it (wire reference 9.7).
    url = AbsoluteUrlField("/v2/SafeList/Numbers/{o.phone_number}")
