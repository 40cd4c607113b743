"""Input forms and output shape of `Challenge` (Twilio Verify v2; wire reference 4.2).
`Verification` and `VerificationCheck` are in `verification_serializers`."""

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from challenges.models import Challenge
from verify_platform.lib.api.fields import (
    AbsoluteUrlField,
    LinksField,
    absolute_urls,
    datetime_text,
    sid_field,
)
from verify_platform.lib.api.forms import (
    JSON_TEXT,
    JSONObjectField,
    TwilioForm,
    json_string_schema,
)
from verify_platform.lib.clock import current_time

MAX_DETAIL_FIELDS = 20
_DETAIL_FIELD = {
    "type": "object",
    "properties": {
        "label": {**JSON_TEXT, "maxLength": 36},
        "value": {**JSON_TEXT, "maxLength": 128},
    },
    "required": ["label", "value"],
    "additionalProperties": False,
}


@extend_schema_field(
    {
        **json_string_schema(
            _DETAIL_FIELD,
            max_length=1024,
            description='JSON object `{"label": <=36 chars, "value": <=128 chars}`; repeat '
            "the key for each item (at most 20).",
        ),
        "pattern": "^\\{",
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


# Every shape a factor takes (`factors.domain.factor_validate_payload`): a TOTP code (3 to 8
# digits), a phone factor's code (4 to 10), a recovery code with or without its dashes. Which
# of them the factor takes, and how many digits, is the factor's: the domain decides, before
# anything is compared or counted, and the schema publishes the union.
AUTH_PAYLOAD = (
    "[0-9]{3,10}|[A-Za-z2-7]{16}|[A-Za-z2-7]{4}-[A-Za-z2-7]{4}-[A-Za-z2-7]{4}-[A-Za-z2-7]{4}"
    "|[A-Za-z0-9_-]{1,1800}[.][A-Za-z0-9_-]{1,3600}[.][A-Za-z0-9_-]{1,100}"
)
# A push answer (docs/push-protocol.md) is a JWT: Twilio allows it 5456 characters.
AUTH_PAYLOAD_MAX = 5456
_AUTH_PAYLOAD_HELP = (
    "A TOTP code of exactly `code_length` ASCII digits, or a recovery code "
    "(`XXXX-XXXX-XXXX-XXXX`, extension), or for a phone factor (extension) the code "
    "sent for this challenge (not accepted on create). Anything else is 400/60200. Per challenge, "
    "5 wrong codes deny it and further answers get 429/60308. Per factor, "
    "consecutive failures beyond 5 get 429/60310 with `Retry-After`, and 100 lock "
    "the factor (429/60310). For a push challenge: the device's answer, a JWT signed ES256 "
    "by the factor's key over the fields of `Twilio-Verify-Signature-Fields` and `status` "
    "(`approved` or `denied`); a bad signature, another challenge's fields or another "
    "algorithm is 400/60200, a second answer 403/60322, an answer after expiry 403/60323."
)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": AUTH_PAYLOAD_MAX,
        "pattern": f"^(?:{AUTH_PAYLOAD})$",
        "description": _AUTH_PAYLOAD_HELP,
    }
)
class AuthPayloadField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", AUTH_PAYLOAD_MAX)
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("help_text", _AUTH_PAYLOAD_HELP)
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


# The fields of the three serializers below describe their responses (the OpenAPI schema, and
# DRF's own rendering); their `to_representation` writes the same body out directly. These
# answers are the busiest ones (every login, start and check), and a DRF serializer builds
# its field objects anew for each instance, which costs several times the rest of the
# rendering. tests/lib/test_api_layer.py holds both ways to the same bytes. (Comments, not
# docstrings: drf-spectacular would publish a docstring as the schema's description.)
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
    recovery_code_used = serializers.SerializerMethodField()
    recovery_codes_remaining = serializers.IntegerField(
        allow_null=True,
        help_text="**Extension**: when a recovery code approved the challenge, how many "
        "codes of the entity's set are left (create a new set before they run out); "
        "otherwise null.",
    )
    url = AbsoluteUrlField(_CHALLENGE_PATH)
    links = LinksField({"notifications": _CHALLENGE_PATH + "/Notifications"})

    def to_representation(self, challenge: Challenge) -> dict:
        path = _CHALLENGE_PATH.format(o=challenge)
        url, notifications = absolute_urls(self.context["request"], (path, path + "/Notifications"))
        return {
            "sid": str(challenge.sid),
            "account_sid": str(challenge.service.account_id),
            "service_sid": str(challenge.service_id),
            "entity_sid": str(challenge.entity_id),
            "identity": str(challenge.entity.identity),
            "factor_sid": str(challenge.factor_id),
            "date_created": datetime_text(challenge.date_created),
            "date_updated": datetime_text(challenge.date_updated),
            "date_responded": datetime_text(challenge.date_responded),
            "expiration_date": datetime_text(challenge.expiration_date),
            "status": self.get_status(challenge),
            "responded_reason": str(challenge.responded_reason),
            "details": self.get_details(challenge),
            "hidden_details": challenge.hidden_details,
            "metadata": challenge.metadata,
            "factor_type": str(challenge.factor.factor_type),
            "recovery_code_used": self.get_recovery_code_used(challenge),
            "recovery_codes_remaining": challenge.recovery_codes_remaining,
            "url": url,
            "links": {"notifications": notifications},
        }

    @extend_schema_field({"type": "string", "enum": [s.value for s in Challenge.Status]})
    def get_status(self, challenge) -> str:
        return challenge.status_at(current_time())

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
            details["date"] = datetime_text(challenge.date_created)
        return details

    @extend_schema_field(
        {
            "type": "boolean",
            "description": "**Extension**: true when a recovery code of the entity approved "
            "the challenge (that code is now used up).",
        }
    )
    def get_recovery_code_used(self, challenge) -> bool:
        return challenge.recovery_codes_remaining is not None
