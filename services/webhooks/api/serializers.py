"""Webhook input forms and output shape (Twilio Verify v2 `Webhook`)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from services.models import Webhook
from services.webhooks import destinations, events
from verify_platform.lib.api.fields import AbsoluteUrlField
from verify_platform.lib.api.forms import TwilioForm

_EVENT_TYPES_HELP = (
    "Repeated key. `*` subscribes to every type. Twilio's types: "
    + ", ".join(f"`{t}`" for t in events.TWILIO_EVENT_TYPES)
    + ". Extension types: "
    + ", ".join(f"`{t}`" for t in events.EXTENSION_EVENT_TYPES)
    + "."
)
_url_validator = URLValidator(schemes=["http", "https"])
# Plain absolute http(s) URLs of a public-looking host name, which the checks below accept
# unless the name resolves to an address they refuse (they also accept IP literals, ports,
# queries and international names). The private names (`destinations.host_problem`) are left
# out of the published shape.
_LABEL = "[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?"
WEBHOOK_URL = (
    rf"https?://(?:{_LABEL}\.){{1,3}}(?!(?:local|localhost|internal|arpa)(?:/|$))[a-z]{{2,12}}"
    r"(?:/[A-Za-z0-9._~-]{0,20}){0,4}"
)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 2048,
        "pattern": f"^(?:{WEBHOOK_URL})$",
        "description": "An absolute http or https URL. Refused (400/60200) when its host is, or "
        "resolves to, a private, loopback, link-local or otherwise non-public destination.",
    }
)
class WebhookUrlField(serializers.CharField):
    """An absolute http(s) URL that the delivery check would call: refused now, with the
    reason, rather than stored and failed at every delivery (`destinations.url_problem`:
    the name is resolved here, and judged again at every call)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=2048, **kwargs)

    def to_internal_value(self, data) -> str:
        value = super().to_internal_value(data)
        try:
            _url_validator(value)
        except DjangoValidationError:
            raise serializers.ValidationError("must be an absolute http or https URL") from None
        problem = destinations.url_problem(value)
        if problem:
            raise serializers.ValidationError(f"not an allowed destination: {problem}")
        return value


_EVENT_TYPES_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "enum": list(events.SUBSCRIBABLE)},
}


@extend_schema_field(_EVENT_TYPES_SCHEMA)
class EventTypesInputField(serializers.ListField):
    """Repeated `EventTypes` keys. Validated as a whole so the error names the parameter
    (a per-item error would be reported under the item's index)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(), min_length=1, max_length=64, **kwargs)

    def to_internal_value(self, data) -> list[str]:
        values = super().to_internal_value(data)
        unknown = [v for v in values if v not in events.SUBSCRIBABLE]
        if unknown:
            raise serializers.ValidationError(f"unknown event type {unknown[0][:64]!r}")
        return values


class WebhookForm(TwilioForm):
    """Create requires FriendlyName, EventTypes and WebhookUrl; update (partial) none."""

    friendly_name = serializers.CharField(max_length=64)
    event_types = EventTypesInputField(help_text=_EVENT_TYPES_HELP)
    webhook_url = WebhookUrlField()
    status = serializers.ChoiceField(Webhook.Status.choices, required=False)
    version = serializers.ChoiceField(Webhook.Version.values, required=False)


_WEBHOOK_PATH = "/v2/Services/{o.service_id}/Webhooks/{o.sid}"


@extend_schema_field(_EVENT_TYPES_SCHEMA)
class EventTypesField(serializers.ListField):
    child = serializers.CharField()


class WebhookSerializer(serializers.Serializer):
    sid = serializers.CharField()
    service_sid = serializers.CharField(source="service_id")
    account_sid = serializers.CharField(source="account_id")
    friendly_name = serializers.CharField()
    event_types = EventTypesField(help_text=_EVENT_TYPES_HELP)
    status = serializers.ChoiceField(Webhook.Status.choices)
    version = serializers.ChoiceField(Webhook.Version.values)
    webhook_url = serializers.CharField()
    webhook_method = serializers.ChoiceField(Webhook.Method.values)
    auto_disabled = serializers.BooleanField(
        help_text="Extension: true when the platform disabled the webhook after a long streak "
        "of failed deliveries. Updating `Status` to `enabled` clears it."
    )
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    url = AbsoluteUrlField(_WEBHOOK_PATH)


class WebhookCreatedSerializer(WebhookSerializer):
    signing_secret = serializers.SerializerMethodField(
        help_text="Extension, returned only in this response: the `whsec_` secret of the "
        "Standard Webhooks `webhook-signature` header of every delivery."
    )

    def get_signing_secret(self, webhook) -> str:
        return self.context["signing_secret"]
