"""`/v2/Services/{ServiceSid}/Entities/{Identity}/Challenges[/{Sid}]`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from challenges import domain, queries
from challenges.api.serializers import (
    ChallengeCreateForm,
    ChallengeListQuery,
    ChallengeSerializer,
    ChallengeUpdateForm,
)
from entities import queries as entity_queries
from factors import queries as factor_queries
from verify_platform.lib.api.pagination import PageQuery, paginate
from verify_platform.lib.api.views import TwilioView, render, renderer, validated

FORM = "application/x-www-form-urlencoded"
ERRORS = {
    400: OpenApiResponse(
        description="60200 invalid parameter (e.g. `AuthPayload` not exactly `code_length` "
        "ASCII digits); 60318 the factor is not verified yet."
    ),
    403: OpenApiResponse(description="60323 the challenge has expired."),
    409: OpenApiResponse(description="60311 the challenge was already approved."),
    429: OpenApiResponse(
        description="60308 the challenge was denied after 5 wrong codes; 60310 the factor is "
        "throttled (`Retry-After`) or locked after 100 consecutive failures."
    ),
}


class ChallengeListView(TwilioView):
    @extend_schema(
        operation_id="CreateChallenge",
        request={FORM: ChallengeCreateForm},
        responses={201: ChallengeSerializer, **ERRORS},
        tags=["Challenges"],
        description="With `AuthPayload` the challenge is evaluated at once: `approved` with "
        "`date_responded` for a valid code, `pending` for a wrong one.",
    )
    def post(self, request, service_sid: str, identity: str):
        form = validated(ChallengeCreateForm, request)
        data = form.validated_data
        factor = factor_queries.factor_get(
            account=self.account,
            service_sid=service_sid,
            identity=identity,
            sid=data["factor_sid"],
        )
        challenge = domain.challenge_create(
            factor=factor,
            auth_payload=data.get("auth_payload"),
            expiration_date=data.get("expiration_date"),
            details_message=data.get("details__message"),
            details_fields=data.get("details__fields"),
            hidden_details=data.get("hidden_details"),
            metadata=data.get("metadata"),
        )
        return Response(
            render(ChallengeSerializer, challenge, request), status=status.HTTP_201_CREATED
        )

    @extend_schema(
        operation_id="ListChallenge",
        parameters=[PageQuery, ChallengeListQuery],
        responses={200: ChallengeSerializer(many=True)},
        tags=["Challenges"],
    )
    def get(self, request, service_sid: str, identity: str):
        entity = entity_queries.entity_get(
            account=self.account, service_sid=service_sid, identity=identity
        )
        query = validated(ChallengeListQuery, request, source="query").validated_data
        return Response(
            paginate(
                request,
                queries.challenge_list(
                    entity=entity, factor_sid=query.get("factor_sid"), status=query.get("status")
                ),
                key="challenges",
                render=renderer(ChallengeSerializer, request),
                descending=query["order"] == "desc",
                extra_query={
                    "FactorSid": query.get("factor_sid"),
                    "Status": query.get("status"),
                    "Order": request.query_params.get("Order"),
                },
            )
        )


class ChallengeDetailView(TwilioView):
    def _challenge(self, service_sid: str, identity: str, sid: str):
        return queries.challenge_get(
            account=self.account, service_sid=service_sid, identity=identity, sid=sid
        )

    @extend_schema(
        operation_id="FetchChallenge", responses={200: ChallengeSerializer}, tags=["Challenges"]
    )
    def get(self, request, service_sid: str, identity: str, sid: str):
        challenge = domain.challenge_expire_if_due(
            challenge=self._challenge(service_sid, identity, sid)
        )
        return Response(render(ChallengeSerializer, challenge, request))

    @extend_schema(
        operation_id="UpdateChallenge",
        request={FORM: ChallengeUpdateForm},
        responses={200: ChallengeSerializer, **ERRORS},
        tags=["Challenges"],
    )
    def post(self, request, service_sid: str, identity: str, sid: str):
        challenge = self._challenge(service_sid, identity, sid)
        data = validated(ChallengeUpdateForm, request).validated_data
        challenge = domain.challenge_respond(
            challenge=challenge,
            auth_payload=data.get("auth_payload"),
            metadata=data.get("metadata"),
        )
        return Response(render(ChallengeSerializer, challenge, request))
