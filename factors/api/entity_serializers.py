"""Entity input form and output shape (Twilio Verify v2 `Entity`)."""

from __future__ import annotations

from rest_framework import serializers

from verify_platform.lib.api.fields import AbsoluteUrlField, LinksField
from verify_platform.lib.api.forms import TwilioForm

IDENTITY_PATTERN = r"^[A-Za-z0-9-]{8,64}$"


def identity_field(**kwargs) -> serializers.RegexField:
    """Identities are opaque ids, never PII: 8-64 letters, digits and dashes."""
    return serializers.RegexField(
        IDENTITY_PATTERN,
        error_messages={"invalid": "must be 8-64 characters of A-Z, a-z, 0-9 and '-'"},
        **kwargs,
    )


class EntityForm(TwilioForm):
    identity = identity_field()


_ENTITY_PATH = "/v2/Services/{o.service_id}/Entities/{o.identity}"


class EntitySerializer(serializers.Serializer):
    sid = serializers.CharField()
    identity = serializers.CharField()
    account_sid = serializers.CharField(source="service.account_id")
    service_sid = serializers.CharField(source="service_id")
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    url = AbsoluteUrlField(_ENTITY_PATH)
    links = LinksField(
        {
            "factors": _ENTITY_PATH + "/Factors",
            "new_factors": _ENTITY_PATH + "/Factors",
            "challenges": _ENTITY_PATH + "/Challenges",
        }
    )
