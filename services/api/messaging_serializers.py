"""MessagingConfiguration input forms and output shape (Twilio Verify v2
`verify.v2.service.messaging_configuration`)."""

from __future__ import annotations

import phonenumbers
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from services.message_models import ALL_COUNTRIES
from services.messaging_queries import country_key
from verify_platform.lib.api.fields import AbsoluteUrlField, sid_field
from verify_platform.lib.api.forms import TwilioForm

_COUNTRY_HELP = (
    "ISO 3166-1 alpha-2 code of the destinations this configuration sends to (any case; "
    "stored upper-case), or `all` for every country without its own."
)


@extend_schema_field(
    {
        "type": "string",
        "enum": [*sorted(phonenumbers.SUPPORTED_REGIONS), ALL_COUNTRIES],
        "description": _COUNTRY_HELP,
    }
)
class CountryField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=3, help_text=_COUNTRY_HELP, **kwargs)

    def to_internal_value(self, data) -> str:
        key = country_key(super().to_internal_value(data))
        if key is None:
            raise serializers.ValidationError("must be an ISO 3166-1 alpha-2 country code or `all`")
        return key


class MessagingConfigurationCreateForm(TwilioForm):
    country = CountryField()
    messaging_service_sid = sid_field("MG")


class MessagingConfigurationUpdateForm(TwilioForm):
    messaging_service_sid = sid_field("MG")


class MessagingConfigurationSerializer(serializers.Serializer):
    account_sid = serializers.CharField(source="account_id")
    service_sid = serializers.CharField(source="service_id")
    country = serializers.CharField(help_text=_COUNTRY_HELP)
    messaging_service_sid = serializers.CharField()
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    url = AbsoluteUrlField("/v2/Services/{o.service_id}/MessagingConfigurations/{o.country}")
