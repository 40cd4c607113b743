"""Input forms and output shapes of `RateLimit` and `Bucket` (Twilio Verify v2; wire
reference 4.10) and of the Safe List (4.13)."""

from __future__ import annotations

from rest_framework import serializers

from verify_platform.lib.api.fields import AbsoluteUrlField, LinksField
from verify_platform.lib.api.forms import StrictIntegerField, TwilioForm

MAX_BUCKET_MAX = 1_000_000
MAX_BUCKET_INTERVAL = 86_400


class RateLimitCreateForm(TwilioForm):
    # Its format is the domain's decision (Twilio's own error code, 60209).
    unique_name = serializers.CharField(
        max_length=1024,
        allow_blank=True,
        trim_whitespace=False,
        help_text="1-191 letters, digits, `-`, `_` or `.`; the key used in a Verification's "
        "`RateLimits`. Should not contain personal data.",
    )
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
    # Whether it is a valid number is the domain's decision (60200 naming `PhoneNumber`).
    phone_number = serializers.CharField(
        max_length=64,
        trim_whitespace=False,
        help_text="The phone number in E.164 format, e.g. `+14155550100`.",
    )


class SafeListNumberSerializer(serializers.Serializer):
    sid = serializers.CharField()
    phone_number = serializers.CharField()
    # The `+` stays literal in the path, as the SDK sends it (wire reference 9.7).
    url = AbsoluteUrlField("/v2/SafeList/Numbers/{o.phone_number}")
