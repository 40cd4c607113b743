"""Template list filter and output shape (Twilio Verify v2 `verify.v2.verification_template`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from services.message_models import TEMPLATE_CHANNELS, TEMPLATE_FRIENDLY_NAME_MAX
from verify_platform.lib.api.fields import datetime_text
from verify_platform.lib.api.forms import TwilioForm


class TemplateListQuery(TwilioForm):
    friendly_name = serializers.CharField(
        required=False,
        max_length=TEMPLATE_FRIENDLY_NAME_MAX,
        help_text="Only the templates with exactly this FriendlyName.",
    )


_TRANSLATION_SCHEMA = {
    "type": "object",
    "properties": {
        "is_default_translation": {"type": "boolean"},
        "status": {"type": "string", "enum": ["approved", "pending", "rejected"]},
        "locale": {"type": "string"},
        "text": {"type": "string"},
        "date_created": {"type": "string", "format": "date-time"},
        "date_updated": {"type": "string", "format": "date-time"},
    },
}


@extend_schema_field(
    {
        "type": "object",
        "description": "Every translation, keyed by its locale. Only `approved` ones are sent.",
        "additionalProperties": _TRANSLATION_SCHEMA,
    }
)
class TranslationsField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, template) -> dict:
        return {
            t.locale: {
                "is_default_translation": t.is_default_translation,
                "status": t.status,
                "locale": t.locale,
                "text": t.text,
                "date_created": datetime_text(t.date_created),
                "date_updated": datetime_text(t.date_updated),
            }
            for t in template.translations.all()
        }


class TemplateSerializer(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = serializers.SerializerMethodField(
        help_text="The requesting account: the built-in and global templates are "
        "available to every account, as Twilio's pre-approved ones are."
    )
    friendly_name = serializers.CharField()
    channels = serializers.ListField(
        child=serializers.ChoiceField(TEMPLATE_CHANNELS), help_text="sms and/or voice."
    )
    translations = TranslationsField()

    def get_account_sid(self, template) -> str:
        return self.context["request"].user.pk
