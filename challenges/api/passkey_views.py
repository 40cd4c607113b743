"""`/v2/Services/{ServiceSid}/Passkeys/Challenges` and `/Passkeys/ApproveChallenge` (JSON)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from challenges.api.passkey_serializers import (
    AssertionCredentialBody,
    PasskeyChallengeCreateBody,
    PasskeyChallengeSerializer,
    render_passkey_challenge,
)
from challenges.domain.passkeys import passkey_challenge_approve, passkey_challenge_create
from challenges.passkey_models import PasskeyChallenge
from services import queries as service_queries
from verify_platform.lib.api.views import TwilioView

JSON = "application/json"


class PasskeyChallengeCreateView(TwilioView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="CreateChallengePasskeys",
        request={JSON: PasskeyChallengeCreateBody},
        responses={
            201: PasskeyChallengeSerializer,
            400: OpenApiResponse(
                description="60394: the Service has no passkeys configuration "
                "(`Passkeys.RelyingParty.Id` and `.Origins`)."
            ),
            403: OpenApiResponse(
                description="60318: the factor is not verified, or the entity has no verified "
                "passkey."
            ),
        },
        tags=["Passkeys"],
        description="A pending challenge (5 minutes) whose `options` are the WebAuthn "
        "request options for `navigator.credentials.get()`: for `identity` (its verified "
        "passkeys), for `factor_sid` (that one), or with neither for a usernameless sign-in "
        "(any discoverable passkey of the service; entity and factor are named when one "
        "answers). An unknown identity or factor is 404.",
    )
    def post(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        data = PasskeyChallengeCreateBody.check_json(request.data)
        pending, challenge, options = passkey_challenge_create(
            service=service, identity=data.get("identity"), factor_sid=data.get("factor_sid")
        )
        pending.service = service
        body = render_passkey_challenge(request, pending, challenge, options)
        return Response(body, status=status.HTTP_201_CREATED)


class PasskeyChallengeApproveView(TwilioView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="UpdateChallengePasskeys",
        request={JSON: AssertionCredentialBody},
        responses={
            200: PasskeyChallengeSerializer,
            403: OpenApiResponse(
                description="60324: the WebAuthn check failed (origin, RP ID, challenge, user "
                "presence or required verification, signature), the passkey is unknown or "
                "not allowed for this challenge, or its signature counter did not increase "
                "(a possible cloned key: recorded, and the passkey refused from then on); "
                "60322: the challenge was answered already (a replayed assertion); 60323: "
                "it expired."
            ),
            404: OpenApiResponse(
                description="No challenge of this service issued the challenge in `clientDataJSON`."
            ),
        },
        tags=["Passkeys"],
        description="Approves, once, the passkeys challenge the assertion from "
        "`navigator.credentials.get()` answers (found by the challenge in its "
        "`clientDataJSON`), with the `challenge.approved` webhook event. A usernameless "
        "challenge now names the entity and factor of the passkey that answered.",
    )
    def post(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        AssertionCredentialBody.check_json(request.data)
        challenge = passkey_challenge_approve(service=service, assertion=request.data)
        pending = PasskeyChallenge(sid=challenge.sid, service=service)
        return Response(render_passkey_challenge(request, pending, challenge, None))
