"""Input forms and output shapes of `RateLimit` and `Bucket` (Twilio Verify v2; wire
reference 4.10)."""

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
