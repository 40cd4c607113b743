"""`/v2/Services/{ServiceSid}/Passkeys/Factors` and `/Passkeys/VerifyFactor` (JSON)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from factors.api.passkey_serializers import (
    PasskeyFactorCreateBody,
    PasskeyFactorSerializer,
    RegistrationCredentialBody,
)
from factors.api.serializers import FactorSerializer
from factors.domain.passkeys import passkey_factor_create, passkey_factor_verify
from services import queries as service_queries
from verify_platform.lib.api.views import TwilioView, render

JSON = "application/json"


class PasskeyFactorCreateView(TwilioView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="CreateNewFactorPasskey",
        request={JSON: PasskeyFactorCreateBody},
        responses={
            201: PasskeyFactorSerializer,
            400: OpenApiResponse(
                description="60393: an authenticator criterion (`authenticator_attachment`, "
                "`discoverable_credentials`, `user_verification`) is set neither in `config` "
                "nor on the Service; 60371: nor is the relying party (id and origins)."
            ),
        },
        tags=["Passkeys"],
        description="Creates an unverified `passkeys` factor (and the entity when it does "
        "not exist yet) and returns in `options` the WebAuthn creation options for "
        "`navigator.credentials.create()`, only here. The registration is good for 10 "
        "minutes; `Passkeys/VerifyFactor` with the browser's credential verifies the factor.",
    )
    def post(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        data = PasskeyFactorCreateBody.check_json(request.data)
        factor, options = passkey_factor_create(
            service=service,
            identity=data["identity"],
            friendly_name=data["friendly_name"],
            config=data.get("config"),
        )
        body = PasskeyFactorSerializer(factor, context={"request": request, "options": options})
        response = Response(body.data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class PasskeyFactorVerifyView(TwilioView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="UpdatePasskeysFactor",
        request={JSON: RegistrationCredentialBody},
        responses={
            200: FactorSerializer,
            403: OpenApiResponse(
                description="60324: the WebAuthn check of the credential failed (origin, RP "
                "ID, challenge, user presence or required verification, attestation, key "
                "algorithm), or the passkey is already registered; 60323: the registration "
                "options expired (create the factor again)."
            ),
            404: OpenApiResponse(
                description="No unverified passkeys factor of this service issued the "
                "challenge in `clientDataJSON` (already verified, deleted, or another's)."
            ),
        },
        tags=["Passkeys"],
        description="Verifies the passkeys factor whose registration the credential from "
        "`navigator.credentials.create()` answers (as `PublicKeyCredential.toJSON()` writes "
        "it: binaries base64url). The factor is found by the challenge in `clientDataJSON`; "
        "a registration answers once.",
    )
    def post(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        RegistrationCredentialBody.check_json(request.data)
        factor = passkey_factor_verify(service=service, credential=request.data)
        return Response(render(FactorSerializer, factor, request))
