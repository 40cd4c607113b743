"""Challenge input forms and output shape (Twilio Verify v2 `Challenge`)."""

from __future__ import annotations

import json

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from challenges.models import Challenge
from verify_platform.lib.api.fields import AbsoluteUrlField, LinksField, sid_field
from verify_platform.lib.api.forms import JSONObjectField, TwilioForm

MAX_DETAIL_FIELDS = 20


@extend_schema_field(
    {
        "type": "string",
        "description": 'JSON object `{"label": <=36 chars, "value": <=128 chars}`; repeat the '
        "key for each item (at most 20).",
    }
)
class DetailFieldItem(serializers.Field):
    """One `Details.Fields` item: a JSON `{"label": <=36 chars, "value": <=128 chars}`."""

    default_error_messages = {
        "invalid": "each item must be a JSON object with a `label` of at most 36 and a "
        "`value` of at most 128 characters"
    }

    def to_internal_value(self, data) -> dict[str, str]:
        try:
            item = json.loads(data) if isinstance(data, str) and len(data) <= 1024 else None
        except (ValueError, RecursionError):
            item = None
        if (
            not isinstance(item, dict)
            or set(item) != {"label", "value"}
            or not all(isinstance(v, str) for v in item.values())
            or len(item["label"]) > 36
            or len(item["value"]) > 128
        ):
            self.fail("invalid")
        return {"label": item["label"], "value": item["value"]}

    def to_representation(self, value):
        return value


class AuthPayloadField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault(
            "help_text",
            "A TOTP code of exactly `code_length` ASCII digits, or a recovery code "
            "(`XXXX-XXXX-XXXX-XXXX`, extension). Anything else is 400/60200. Per challenge, "
            "5 wrong codes deny it and further answers get 429/60308. Per factor, "
            "consecutive failures beyond 5 get 429/60310 with `Retry-After`, and 100 lock "
            "the factor (429/60310).",
        )
        super().__init__(**kwargs)


class ChallengeCreateForm(TwilioForm):
    factor_sid = sid_field("YF")
    expiration_date = serializers.DateTimeField(
        required=False,
        help_text="Default: 5 minutes from now; at most 60 minutes from now.",
    )
    details__message = serializers.CharField(max_length=256, required=False)
    details__fields = serializers.ListField(
        child=DetailFieldItem(), required=False, max_length=MAX_DETAIL_FIELDS
    )
    hidden_details = JSONObjectField(required=False, string_values=True)
    auth_payload = AuthPayloadField()
    metadata = JSONObjectField(required=False, string_values=True)


class ChallengeUpdateForm(TwilioForm):
    auth_payload = AuthPayloadField()
    metadata = JSONObjectField(required=False, string_values=True)


class ChallengeListQuery(TwilioForm):
    factor_sid = sid_field("YF", required=False)
    status = serializers.ChoiceField(Challenge.Status.choices, required=False)
    order = serializers.ChoiceField(("asc", "desc"), required=False, default="asc")


_CHALLENGE_PATH = "/v2/Services/{o.service_id}/Entities/{o.entity.identity}/Challenges/{o.sid}"


class ChallengeSerializer(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = serializers.CharField(source="service.account_id")
    service_sid = serializers.CharField(source="service_id")
    entity_sid = serializers.CharField(source="entity_id")
    identity = serializers.CharField(source="entity.identity")
    factor_sid = serializers.CharField(source="factor_id")
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    date_responded = serializers.DateTimeField(allow_null=True)
    expiration_date = serializers.DateTimeField()
    status = serializers.SerializerMethodField()
    responded_reason = serializers.CharField()
    details = serializers.SerializerMethodField()
    hidden_details = serializers.JSONField(allow_null=True)
    metadata = serializers.JSONField(allow_null=True)
    factor_type = serializers.CharField(source="factor.factor_type")
    url = AbsoluteUrlField(_CHALLENGE_PATH)
    links = LinksField({"notifications": _CHALLENGE_PATH + "/Notifications"})

    @extend_schema_field({"type": "string", "enum": [s.value for s in Challenge.Status]})
    def get_status(self, challenge) -> str:
        return challenge.status_at(timezone.now())

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "message": {"type": "string", "nullable": True},
                "date": {"type": "string", "format": "date-time"},
                "fields": {"type": "array", "items": {"type": "object"}},
            },
        }
    )
    def get_details(self, challenge) -> dict:
        details = {"message": challenge.details_message, "fields": challenge.details_fields}
        if challenge.service.push_include_date:
            details["date"] = serializers.DateTimeField().to_representation(challenge.date_created)
        return details
