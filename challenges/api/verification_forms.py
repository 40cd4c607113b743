"""Input forms of `Verification` and `VerificationCheck` (Twilio Verify v2; wire reference 4.2,
4.3): every parameter Twilio documents either takes effect or is refused with 400/60200
naming it and saying why. Nothing is accepted and then ignored.

What a form can judge from the request and the service alone is judged here; what needs the
database (the template a `TemplateSid` names, its variables) is judged by the domain
(`challenges.domain.start_options`) before anything is written or sent."""

from __future__ import annotations

import ipaddress
import re

from rest_framework import serializers

from challenges.destinations import PHONE_CHANNELS, TEXT_CHANNELS, is_landline, normalize_to
from challenges.errors import LandlineNotSupported
from channels import registry
from verify_platform.lib.api.fields import sid_field
from verify_platform.lib.api.forms import JSONObjectField, TwilioBooleanField, TwilioForm

CHANNELS = ("sms", "whatsapp", "call", "email", "auto")
VERIFICATION_UPDATE_STATUSES = ("canceled", "approved")
RISK_CHECKS = ("enable", "disable")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?")
_CODE = re.compile(r"[0-9]{4,10}")  # ASCII digits only: [0-9], not \d
_APP_HASH = re.compile(r"[A-Za-z0-9+/=]{1,32}")
_SEND_DIGITS = re.compile(r"[0-9wW#*]{1,32}")  # Twilio's sendDigits: digits, w (pause), # *
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
MAX_TAGS = 10
MAX_TAG_TEXT = 128
MAX_SUBSTITUTIONS = 20
MAX_SUBSTITUTION_TEXT = 64
# Silent Network Auth asks the user's mobile carrier to confirm the SIM: there is none here.
SNA_REFUSAL = "Silent Network Auth needs a mobile carrier integration, which this server has not"


def _code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise serializers.ValidationError("must be 4 to 10 ASCII digits")
    return value


def _channel(value: str) -> None:
    if value == "sna":
        raise serializers.ValidationError(SNA_REFUSAL)
    if value not in CHANNELS:
        raise serializers.ValidationError(f"must be one of {', '.join(CHANNELS)}")
    if value != "auto" and value not in registry.configured_channels():
        raise serializers.ValidationError("this channel is not enabled")


def _printable(value: str) -> None:
    if not value.isprintable():
        raise serializers.ValidationError("must not contain control characters")


def _locale(value: str) -> None:
    if not _LOCALE.fullmatch(value):
        raise serializers.ValidationError("must be a language tag such as en or pt-BR")


def _app_hash(value: str) -> None:
    if not _APP_HASH.fullmatch(value):
        raise serializers.ValidationError("must be the app's SMS retriever hash")


def _send_digits(value: str) -> None:
    if not _SEND_DIGITS.fullmatch(value):
        raise serializers.ValidationError("must be 1 to 32 of the digits 0-9, w, W, # and *")


def _device_ip(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise serializers.ValidationError("must be an IPv4 or IPv6 address") from None


def _refused(reason: str):
    """A validator that refuses any value: for parameters Twilio documents that this server
    cannot honour, so a caller never believes they took effect."""

    def refuse(value: object) -> None:
        raise serializers.ValidationError(reason)

    return refuse


def _string_map(value: dict, *, keys: int, text: int, key_pattern: re.Pattern | None) -> None:
    if len(value) > keys:
        raise serializers.ValidationError(f"must have at most {keys} keys")
    for key, item in value.items():
        if key_pattern is not None and not key_pattern.fullmatch(key):
            raise serializers.ValidationError(f"key {key[:40]!r} is not a variable name")
        if not (0 < len(key) <= text) or len(item) > text:
            raise serializers.ValidationError(f"keys and values must be 1 to {text} characters")
        if not (key.isprintable() and item.isprintable()):
            raise serializers.ValidationError("must not contain control characters")


def _tags(value: dict) -> None:
    _string_map(value, keys=MAX_TAGS, text=MAX_TAG_TEXT, key_pattern=None)


def _substitutions(value: dict) -> None:
    _string_map(value, keys=MAX_SUBSTITUTIONS, text=MAX_SUBSTITUTION_TEXT, key_pattern=_VARIABLE)


class VerificationCreateForm(TwilioForm):
    """Needs `context={"service": service}`: channels, CustomCode, PSD2 and landlines depend
    on it. (Field validators, not `validate_<name>` methods: DRF looks those up by the wire
    name.)"""

    to = serializers.CharField(max_length=320, trim_whitespace=False)
    channel = serializers.CharField(max_length=16, trim_whitespace=False, validators=[_channel])
    locale = serializers.CharField(
        max_length=16, required=False, trim_whitespace=False, validators=[_locale]
    )
    custom_friendly_name = serializers.CharField(
        max_length=30, required=False, validators=[_printable]
    )
    custom_code = serializers.CharField(
        max_length=10, required=False, trim_whitespace=False, validators=[_code]
    )
    app_hash = serializers.CharField(
        max_length=32, required=False, trim_whitespace=False, validators=[_app_hash]
    )
    amount = serializers.CharField(max_length=64, required=False, validators=[_printable])
    payee = serializers.CharField(max_length=64, required=False, validators=[_printable])
    rate_limits = JSONObjectField(
        required=False,
        max_length=4096,
        help_text='The values to meter, keyed by rate limit `unique_name`: `{"end_user_ip": '
        '"203.0.113.7"}`. Every bucket of each named rate limit counts this start; a full one '
        "refuses it with 429/60203 before anything is sent.",
    )
    send_digits = serializers.CharField(
        max_length=32, required=False, trim_whitespace=False, validators=[_send_digits]
    )
    template_sid = sid_field("HJ", required=False)
    template_custom_substitutions = JSONObjectField(
        required=False, max_length=4096, string_values=True, validators=[_substitutions]
    )
    channel_configuration = JSONObjectField(required=False, max_length=4096)
    device_ip = serializers.CharField(
        max_length=45, required=False, trim_whitespace=False, validators=[_device_ip]
    )
    risk_check = serializers.ChoiceField(choices=RISK_CHECKS, required=False)
    tags = JSONObjectField(required=False, max_length=4096, string_values=True, validators=[_tags])
    custom_message = serializers.CharField(
        required=False,
        validators=[
            _refused(
                "free-text messages are not sent (they are a phishing vector); use TemplateSid "
                "with a template an operator approved"
            )
        ],
    )
    templates = serializers.CharField(
        required=False, validators=[_refused("not supported; use TemplateSid")]
    )
    enable_sna_client_token = TwilioBooleanField(required=False)

    def validate(self, attrs: dict) -> dict:
        service = self.context["service"]
        if "custom_code" in attrs and not service.custom_code_enabled:
            raise serializers.ValidationError(
                {"CustomCode": "custom codes are not enabled for this service"}
            )
        if attrs.pop("enable_sna_client_token", False):
            raise serializers.ValidationError({"EnableSnaClientToken": SNA_REFUSAL})
        if "locale" in attrs:
            attrs["locale"] = attrs["locale"].replace("_", "-")
        channel = attrs["channel"]
        to = normalize_to(attrs["to"])
        if to is None:
            raise serializers.ValidationError({"To": "must be an E.164 phone number"})
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
    from channels.adapters.email import from_allowed

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


def _update_status(value: str) -> None:
    if value not in VERIFICATION_UPDATE_STATUSES:
        raise serializers.ValidationError("must be canceled or approved")


class VerificationUpdateForm(TwilioForm):
    # A string, not a ChoiceField: its enum would collide in the schema with the other
    # `Status` parameters (challenges, webhooks) that have other values.
    status = serializers.CharField(
        validators=[_update_status], help_text="`canceled` or `approved`"
    )


class VerificationCheckForm(TwilioForm):
    code = serializers.CharField(max_length=10, trim_whitespace=False, validators=[_code])
    to = serializers.CharField(max_length=320, required=False, trim_whitespace=False)
    verification_sid = serializers.CharField(max_length=34, required=False)
    amount = serializers.CharField(max_length=64, required=False)
    payee = serializers.CharField(max_length=64, required=False)
    sna_client_token = serializers.CharField(required=False, validators=[_refused(SNA_REFUSAL)])

    def validate(self, attrs: dict) -> dict:
        if "to" in attrs:
            attrs["to"] = normalize_to(attrs["to"])
            if attrs["to"] is None:
                raise serializers.ValidationError(
                    {"To": "must be an E.164 phone number or e-mail address"}
                )
        elif not attrs.get("verification_sid"):
            raise serializers.ValidationError({"To": "To or VerificationSid is required"})
        return attrs
