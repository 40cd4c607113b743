"""JSON bodies of `Passkeys/Challenges` and `Passkeys/ApproveChallenge`, and the passkeys
challenge's answer: Twilio's challenge fields plus `options`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from challenges.api.serializers import ChallengeSerializer
from challenges.models import Challenge
from challenges.passkey_models import PasskeyChallenge
from factors.api.entity_serializers import IDENTITY_PATTERN
from factors.api.passkey_serializers import CredentialBody, JsonBody, base64url
from verify_platform.lib.api.fields import datetime_text
from verify_platform.lib.api.forms import Pattern


class PasskeyChallengeCreateBody(JsonBody):
    identity = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=64,
        validators=[
            Pattern(IDENTITY_PATTERN[1:-1], "must be 8-64 characters of A-Z, a-z, 0-9 and '-'")
        ],
        help_text="The entity to sign in: its verified passkeys are `allowCredentials`.",
    )
    factor_sid = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=34,
        validators=[Pattern("YF[0-9a-fA-F]{32}", "must be a YF SID")],
        help_text="One verified passkeys factor (of `identity` when both are given). With "
        "neither, a usernameless sign-in: `allowCredentials` is empty and any discoverable "
        "passkey of the service may answer.",
    )


class AssertionResponseBody(JsonBody):
    authenticatorData = base64url(4096)
    clientDataJSON = base64url(4096)
    signature = base64url(1024)
    userHandle = base64url(128, required=False, allow_null=True)


class AssertionCredentialBody(CredentialBody):
    response = AssertionResponseBody()


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "description": "On create: `{publicKey: PublicKeyCredentialRequestOptions}` for "
        "`navigator.credentials.get()` (challenge base64url, rpId, allowCredentials, "
        "userVerification, timeout). Null in the approval's answer.",
    }
)
class RequestOptionsField(serializers.JSONField):
    pass


class PasskeyChallengeSerializer(ChallengeSerializer):
    """For the schema: the challenge fields, nullable where a usernameless challenge names
    nobody yet, and `options`. Bodies are written by `render_passkey_challenge`."""

    entity_sid = serializers.CharField(allow_null=True)
    identity = serializers.CharField(allow_null=True)
    factor_sid = serializers.CharField(allow_null=True)
    factor_type = serializers.CharField()
    status = serializers.ChoiceField(Challenge.Status.choices)
    url = serializers.CharField(allow_null=True)
    links = serializers.JSONField(help_text="`{notifications}`; null values while nobody is named.")
    options = RequestOptionsField()


def render_passkey_challenge(
    request: Any,
    pending: PasskeyChallenge,
    challenge: Challenge | None,
    options: dict[str, Any] | None,
) -> dict[str, Any]:
    """The challenge's answer; a usernameless challenge not answered yet has no `Challenge`
    row, so its entity, factor and URL are null."""
    if challenge is not None:
        body = ChallengeSerializer(challenge, context={"request": request}).data
        return {**body, "options": options}
    return {
        "sid": pending.sid,
        "account_sid": pending.service.account_id,
        "service_sid": pending.service_id,
        "entity_sid": None,
        "identity": None,
        "factor_sid": None,
        "date_created": datetime_text(pending.date_created),
        "date_updated": datetime_text(pending.date_created),
        "date_responded": None,
        "expiration_date": datetime_text(pending.expires_at),
        "status": "pending",
        "responded_reason": "none",
        "details": {"message": None, "fields": []},
        "hidden_details": None,
        "metadata": None,
        "factor_type": "passkeys",
        "recovery_code_used": False,
        "recovery_codes_remaining": None,
        "url": None,
        "links": {"notifications": None},
        "options": options,
    }
