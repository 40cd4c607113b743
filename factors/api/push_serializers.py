"""Verify Push's parameters and shapes: the push fields of factor create and update, the
AccessToken resource and the `form-push` Form (wire reference 4.5, 4.8, 4.13)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from factors.api.entity_serializers import identity_field
from factors.push_models import NotificationPlatform
from verify_platform.lib.api.fields import AbsoluteUrlField
from verify_platform.lib.api.forms import OneOf, Pattern, StrictIntegerField, TwilioForm

# Base64 (standard alphabet) of a DER SubjectPublicKeyInfo: a P-256 key is 91 bytes (124
# characters); the bound leaves room for other encodings the server then refuses clearly.
PUBLIC_KEY = "[A-Za-z0-9+/]{40,1024}={0,2}"
_TOKEN_HELP = (
    "push: the APNs device token or FCM registration token, 32-255 characters; required "
    "when `Config.NotificationPlatform` is `apn` or `fcm`. A new token clears the record "
    "that the provider refused the old one."
)
PUSH_CONFIG_NAMES = (
    "config__app_id",
    "config__notification_platform",
    "config__notification_token",
    "config__sdk_version",
)


class PushUpdateFields(TwilioForm):
    """What the app keeps current on its factor (factor update)."""

    config__notification_platform = serializers.ChoiceField(
        NotificationPlatform.choices,
        required=False,
        help_text="push: `apn`, `fcm` or `none` (the app polls for challenges).",
    )
    config__notification_token = serializers.CharField(
        required=False, min_length=32, max_length=255, trim_whitespace=False, help_text=_TOKEN_HELP
    )
    config__sdk_version = serializers.CharField(
        required=False, max_length=64, help_text="push: the Verify Push SDK's version."
    )

    def push_config(self) -> dict[str, Any]:
        return {
            name[len("config__") :]: value
            for name, value in self.validated_data.items()
            if name in PUSH_CONFIG_NAMES
        }


class PushCreateFields(PushUpdateFields):
    """The push parameters of factor create (docs/push-protocol.md)."""

    binding__alg = serializers.CharField(
        required=False,
        max_length=16,
        validators=[OneOf(("ES256",), "only ES256")],
        help_text="push: the signature algorithm of the device's key; only `ES256`.",
    )
    binding__public_key = serializers.CharField(
        required=False,
        max_length=1026,
        trim_whitespace=False,
        validators=[
            Pattern(
                PUBLIC_KEY, "must be standard base64 of 40 to 1026 characters", length=(40, 1026)
            )
        ],
        help_text="push: the device's P-256 public key, base64 of its DER "
        "SubjectPublicKeyInfo (as the Verify Push SDKs send it). Another curve or a "
        "malformed key is 400/60200. The private key never leaves the device.",
    )
    config__app_id = serializers.CharField(
        required=False,
        max_length=255,
        help_text="push: the app's bundle or package id; required for push.",
    )


class AccessTokenCreateForm(TwilioForm):
    identity = identity_field(help_text="The entity the app enrols a factor for.")
    factor_type = serializers.ChoiceField(
        (("push", "push"),), help_text="Only `push`: the token enrols one push factor."
    )
    factor_friendly_name = serializers.CharField(required=False, max_length=64)
    ttl = StrictIntegerField(
        required=False,
        min_value=60,
        max_value=300,
        help_text="How long the token is valid, in seconds: 60 (the default) to 300.",
    )


_TOKEN_PATH = "/v2/Services/{o.service_id}/AccessTokens/{o.sid}"


class AccessTokenSerializer(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = serializers.CharField(source="service.account_id")
    service_sid = serializers.CharField(source="service_id")
    entity_identity = serializers.CharField(source="identity")
    factor_type = serializers.CharField()
    factor_friendly_name = serializers.CharField(allow_null=True)
    token = serializers.SerializerMethodField(
        help_text="Hand it to the app: HTTP Basic `token:<token>` on one push factor create "
        "for this service and identity, before `ttl` runs out (docs/push-protocol.md)."
    )
    url = AbsoluteUrlField(_TOKEN_PATH)
    ttl = serializers.IntegerField()
    date_created = serializers.DateTimeField()

    def to_representation(self, instance) -> dict:
        data = super().to_representation(instance)
        data["factor_friendly_name"] = instance.factor_friendly_name or None
        return data

    def get_token(self, instance) -> str:
        return self.context["token"]


class FormSerializer(serializers.Serializer):
    form_type = serializers.ChoiceField((("form-push", "form-push"),))
    forms = serializers.JSONField(
        help_text="JSON Schemas of the push forms: `create_factor`, `verify_factor`, "
        "`create_challenge`."
    )
    form_meta = serializers.JSONField()
    url = serializers.CharField()
