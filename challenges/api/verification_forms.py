"""Input forms of `Verification` and `VerificationCheck` (Twilio Verify v2; wire reference 4.2,
4.3): every parameter Twilio documents either takes effect or is refused with 400/60200
naming it and saying why. Nothing is accepted and then ignored.

What a form can judge from the request and the service alone is judged here; what needs the
database (the template a `TemplateSid` names, its variables) is judged by the domain
(`challenges.domain.start_options`) before anything is written or sent."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from rest_framework import serializers

from challenges.api.form_rules import (
    IP_ADDRESS,
    Checked,
    DestinationField,
    destination_refusal,
    printable_class,
    printable_text,
)
from challenges.destinations import PHONE_CHANNELS, TEXT_CHANNELS, is_landline, normalize_to
from challenges.errors import LandlineNotSupported
from channels import registry
from channels.adapters.email import from_allowed
from limits.domain import MAX_RATE_LIMIT_VALUE
from verify_platform.lib.api.fields import sid_field
from verify_platform.lib.api.forms import (
    JSON_TEXT,
    JSONObjectField,
    OneOf,
    Pattern,
    Refused,
    TwilioBooleanField,
    TwilioForm,
)

CHANNELS = ("sms", "whatsapp", "call", "email", "auto")
VERIFICATION_UPDATE_STATUSES = ("canceled", "approved")
RISK_CHECKS = ("enable", "disable")
_VARIABLE = r"[A-Za-z_][A-Za-z0-9_]{0,31}"
MAX_TAGS = 10
MAX_TAG_TEXT = 128
MAX_SUBSTITUTIONS = 20
MAX_SUBSTITUTION_TEXT = 64
# Silent Network Auth asks the user's mobile carrier to confirm the SIM: there is none here.
SNA_REFUSAL = "Silent Network Auth needs a mobile carrier integration, which this server has not"


# Compiled once; each runs one `fullmatch` (or the check it publishes), as the functions it
# replaced did.
CODE = Pattern(r"[0-9]{4,10}", "must be 4 to 10 ASCII digits", length=(4, 10))  # not \d
_LOCALE = Pattern(
    r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?",
    "must be a language tag such as en or pt-BR",
    length=(2, 12),
)
_APP_HASH = Pattern(r"[A-Za-z0-9+/=]{1,32}", "must be the app's SMS retriever hash", length=(1, 32))
# Twilio's sendDigits: digits, w (pause), # and *.
_SEND_DIGITS = Pattern(
    r"[0-9wW#*]{1,32}", "must be 1 to 32 of the digits 0-9, w, W, # and *", length=(1, 32)
)
_PRINTABLE_MESSAGE = "must not contain control characters"
# Trimmed text (DRF strips spaces, then refuses what is left empty).
_PRINTABLE = Checked(printable_text(trimmed=True), str.isprintable, _PRINTABLE_MESSAGE)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


_DEVICE_IP = Checked(IP_ADDRESS, _is_ip, "must be an IPv4 or IPv6 address")


class _Channel(OneOf):
    """`Channel`: one of CHANNELS (the schema's enum); `sna` is refused with the reason, and
    a channel this deployment has not configured is refused too (settings, not shape)."""

    def __call__(self, value: Any) -> None:
        if value == "sna":
            raise serializers.ValidationError(SNA_REFUSAL)
        if value not in self.values:  # `OneOf`'s own check, inline: every start runs it
            raise serializers.ValidationError(self.message)
        if value != "auto" and value not in registry.configured_channels():
            raise serializers.ValidationError("this channel is not enabled")


class _StringMap(JSONObjectField):
    """A JSON object of text values (Tags, TemplateCustomSubstitutions): at most `keys` keys,
    keys of 1 to `text` characters (or matching `key_pattern`), values of at most `text`,
    all printable. Its content schema says all of it."""

    def __init__(self, *, keys: int, text: int, key_pattern: str | None = None, **kwargs: Any):
        super().__init__(max_length=4096, string_values=True, **kwargs)
        self.keys, self.text, self.key_pattern = keys, text, key_pattern
        self._key = re.compile(key_pattern) if key_pattern else None

    @property
    def content_schema(self) -> dict[str, Any]:
        printable = f"^{printable_class()}*$"
        names = (
            {"type": "string", "pattern": f"^(?:{self.key_pattern})$"}
            if self.key_pattern
            else {"type": "string", "minLength": 1, "maxLength": self.text, "pattern": printable}
        )
        return {
            "type": "object",
            "maxProperties": self.keys,
            "propertyNames": names,
            "additionalProperties": {
                "type": "string",
                "maxLength": self.text,
                "pattern": printable,
            },
        }

    def to_internal_value(self, data: Any) -> dict:
        value = super().to_internal_value(data)
        if len(value) > self.keys:
            raise serializers.ValidationError(f"must have at most {self.keys} keys")
        for key, item in value.items():
            if self._key is not None and not self._key.fullmatch(key):
                raise serializers.ValidationError(f"key {key[:40]!r} is not a variable name")
            if not (0 < len(key) <= self.text) or len(item) > self.text:
                raise serializers.ValidationError(
                    f"keys and values must be 1 to {self.text} characters"
                )
            if not (key.isprintable() and item.isprintable()):
                raise serializers.ValidationError(_PRINTABLE_MESSAGE)
        return value


class _RateLimitValues(JSONObjectField):
    """`RateLimits`: rate limit names to the values metered, each a string or an integer of
    1 to 256 characters (`limits.domain`, which also refuses a name the service lacks)."""

    @property
    def content_schema(self) -> dict[str, Any]:
        digits = MAX_RATE_LIMIT_VALUE
        return {
            "type": "object",
            "propertyNames": JSON_TEXT,
            "additionalProperties": {
                "anyOf": [
                    {**JSON_TEXT, "minLength": 1, "maxLength": digits},
                    {
                        "type": "integer",
                        "minimum": -(10 ** (digits - 1) - 1),
                        "maximum": 10**digits - 1,
                    },
                ]
            },
        }


class _ChannelConfiguration(JSONObjectField):
    """`ChannelConfiguration` (email only, `email_configuration`): `from` and `from_name`."""

    @property
    def content_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "from": JSON_TEXT,
                "from_name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64,
                    "pattern": f"^{printable_class()}*$",
                },
            },
            "additionalProperties": False,
        }


class VerificationCreateForm(TwilioForm):
    """Needs `context={"service": service}`: channels, CustomCode, PSD2 and landlines depend
    on it. (Field validators, not `validate_<name>` methods: DRF looks those up by the wire
    name.)"""

    to = DestinationField()
    channel = serializers.CharField(
        max_length=16, trim_whitespace=False, validators=[_Channel(CHANNELS)]
    )
    locale = serializers.CharField(
        max_length=16, required=False, trim_whitespace=False, validators=[_LOCALE]
    )
    custom_friendly_name = serializers.CharField(
        max_length=30, required=False, validators=[_PRINTABLE]
    )
    custom_code = serializers.CharField(
        max_length=10, required=False, trim_whitespace=False, validators=[CODE]
    )
    app_hash = serializers.CharField(
        max_length=32, required=False, trim_whitespace=False, validators=[_APP_HASH]
    )
    amount = serializers.CharField(max_length=64, required=False, validators=[_PRINTABLE])
    payee = serializers.CharField(max_length=64, required=False, validators=[_PRINTABLE])
    rate_limits = _RateLimitValues(
        required=False,
        max_length=4096,
        help_text='The values to meter, keyed by rate limit `unique_name`: `{"end_user_ip": '
        '"203.0.113.7"}`. Every bucket of each named rate limit counts this start; a full one '
        "refuses it with 429/60203 before anything is sent.",
    )
    send_digits = serializers.CharField(
        max_length=32, required=False, trim_whitespace=False, validators=[_SEND_DIGITS]
    )
    template_sid = sid_field("HJ", required=False)
    template_custom_substitutions = _StringMap(
        required=False, keys=MAX_SUBSTITUTIONS, text=MAX_SUBSTITUTION_TEXT, key_pattern=_VARIABLE
    )
    channel_configuration = _ChannelConfiguration(required=False, max_length=4096)
    device_ip = serializers.CharField(
        max_length=45, required=False, trim_whitespace=False, validators=[_DEVICE_IP]
    )
    risk_check = serializers.ChoiceField(choices=RISK_CHECKS, required=False)
    tags = _StringMap(required=False, keys=MAX_TAGS, text=MAX_TAG_TEXT)
    custom_message = serializers.CharField(
        required=False,
        validators=[
            Refused(
                "free-text messages are not sent (they are a phishing vector); use TemplateSid "
                "with a template an operator approved"
            )
        ],
    )
    templates = serializers.CharField(
        required=False, validators=[Refused("not supported; use TemplateSid")]
    )
    # Only false (the schema's enum): Silent Network Auth is refused with the reason.
    enable_sna_client_token = TwilioBooleanField(
        required=False, validators=[OneOf((False,), SNA_REFUSAL)]
    )

    def validate(self, attrs: dict) -> dict:
        service = self.context["service"]
        if "custom_code" in attrs and not service.custom_code_enabled:
            raise serializers.ValidationError(
                {"CustomCode": "custom codes are not enabled for this service"}
            )
        attrs.pop("enable_sna_client_token", None)
        if "locale" in attrs:
            attrs["locale"] = attrs["locale"].replace("_", "-")
        channel = attrs["channel"]
        to = normalize_to(attrs["to"])
        if to is None:
            refusal = destination_refusal(attrs["to"], "must be an E.164 phone number")
            raise serializers.ValidationError({"To": refusal})
        email = "@" in to
        if channel == "email" and not email:
            raise serializers.ValidationError({"To": "must be an e-mail address for email"})
        if channel in PHONE_CHANNELS and email:
            raise serializers.ValidationError({"To": f"must be a phone number for {channel}"})
        if service.skip_sms_to_landlines and channel in TEXT_CHANNELS and is_landline(to):
            # Twilio's 60205; without the flag the provider is left to try (some fixed lines
            # read SMS aloud), and `auto` plans skip text steps for fixed lines either way.
            raise LandlineNotSupported()
        attrs["to"] = to
        self._psd2(attrs, service)
        self._channel_options(attrs, channel, email)
        return attrs

    @staticmethod
    def _psd2(attrs: dict, service) -> None:
        given = [name for name in ("amount", "payee") if name in attrs]
        if given and not service.psd2_enabled:
            raise serializers.ValidationError(
                {"Amount" if "amount" in given else "Payee": "requires the service's Psd2Enabled"}
            )
        if len(given) == 1:
            missing = "Payee" if given == ["amount"] else "Amount"
            raise serializers.ValidationError({missing: "PSD2 needs both Amount and Payee"})

    @staticmethod
    def _channel_options(attrs: dict, channel: str, email: bool) -> None:
        """Options that apply to some channels only: refused for the others."""
        if "send_digits" in attrs and channel not in ("call", "auto"):
            raise serializers.ValidationError({"SendDigits": "applies to the call channel only"})
        if "template_sid" in attrs and (email or channel not in ("sms", "call", "auto")):
            raise serializers.ValidationError({"TemplateSid": "applies to sms and call only"})
        if "app_hash" in attrs and channel not in ("sms", "auto"):
            raise serializers.ValidationError({"AppHash": "applies to sms only"})
        if "risk_check" in attrs and channel not in ("sms", "auto"):
            raise serializers.ValidationError({"RiskCheck": "applies to sms only"})
        configuration = attrs.get("channel_configuration")
        if configuration:
            attrs["channel_configuration"] = email_configuration(configuration, channel)


EMAIL_CONFIGURATION_KEYS = ("from", "from_name")


def email_configuration(configuration: dict, channel: str) -> dict:
    """`ChannelConfiguration` for email: `from` (an address the operator allows) and
    `from_name`; `template_id` and `substitutions` name a SendGrid dynamic template, which
    this server does not have, so they are refused rather than dropped."""
    field = "ChannelConfiguration"
    if channel != "email":
        raise serializers.ValidationError({field: "applies to the email channel only"})
    for key in configuration:
        if key in ("template_id", "substitutions"):
            raise serializers.ValidationError(
                {field: f"{key}: e-mail templates of a provider are not supported"}
            )
        if key not in EMAIL_CONFIGURATION_KEYS:
            raise serializers.ValidationError({field: f"unknown key {key[:40]!r}"})
    sender, name = configuration.get("from"), configuration.get("from_name")
    if sender is not None and (not isinstance(sender, str) or not from_allowed(sender)):
        raise serializers.ValidationError(
            {field: "from: not an address this server may send from (VERIFY_EMAIL_ALLOWED_FROM)"}
        )
    if name is not None and (
        not isinstance(name, str) or not name.isprintable() or not 0 < len(name) <= 64
    ):
        raise serializers.ValidationError({field: "from_name: 1 to 64 printable characters"})
    return {key: configuration[key] for key in EMAIL_CONFIGURATION_KEYS if key in configuration}


class VerificationUpdateForm(TwilioForm):
    # A string, not a ChoiceField: its enum would collide in the schema with the other
    # `Status` parameters (challenges, webhooks) that have other values.
    status = serializers.CharField(
        validators=[OneOf(VERIFICATION_UPDATE_STATUSES, "must be canceled or approved")],
        help_text="`canceled` or `approved`",
    )


class VerificationCheckForm(TwilioForm):
    code = serializers.CharField(max_length=10, trim_whitespace=False, validators=[CODE])
    to = DestinationField(required=False)
    verification_sid = serializers.CharField(max_length=34, required=False)
    amount = serializers.CharField(max_length=64, required=False)
    payee = serializers.CharField(max_length=64, required=False)
    sna_client_token = serializers.CharField(required=False, validators=[Refused(SNA_REFUSAL)])

    def validate(self, attrs: dict) -> dict:
        if "to" in attrs:
            to = normalize_to(attrs["to"])
            if to is None:
                refusal = "must be an E.164 phone number or e-mail address"
                raise serializers.ValidationError({"To": destination_refusal(attrs["to"], refusal)})
            attrs["to"] = to
        elif not attrs.get("verification_sid"):
            raise serializers.ValidationError({"To": "To or VerificationSid is required"})
        return attrs
