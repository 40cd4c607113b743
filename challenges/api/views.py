"""`/v2/Services/{ServiceSid}/Entities/{Identity}/Challenges[/{Sid}]`,
`/v2/Services/{ServiceSid}/Verifications[/{Sid or To}]` and `/VerificationCheck`."""

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
from challenges.api.verification_forms import (
    VerificationCheckForm,
    VerificationCreateForm,
    VerificationUpdateForm,
)
from challenges.api.verification_serializers import (
    VerificationCheckSerializer,
    VerificationSerializer,
)
from challenges.destinations import normalize_to
from challenges.domain import push as push_domain
from entities import queries as entity_queries
from factors import device_auth
from factors import queries as factor_queries
from factors.models import FactorType
from services import queries as service_queries
from verify_platform.lib.api.pagination import PageQuery, paginate
from verify_platform.lib.api.views import TwilioView, render, renderer, validated
from verify_platform.lib.errors import NotFound
from verify_platform.lib.sids import is_sid

FORM = "application/x-www-form-urlencoded"
ERRORS = {
    400: OpenApiResponse(
        description="60200 invalid parameter (e.g. `AuthPayload` not exactly `code_length` "
        "ASCII digits)."
    ),
    403: OpenApiResponse(
        description="60323 the challenge has expired; 60322 the challenge was already approved "
        "(or, push, already answered); 60318 the factor is not verified yet."
    ),
    429: OpenApiResponse(
        description="60308 the challenge was denied after 5 wrong codes; 60310 the factor is "
        "throttled (`Retry-After`) or locked after 100 consecutive failures."
    ),
}


class ChallengeListView(TwilioView):
    # The app lists its factor's challenges with its device token (docs/push-protocol.md).
    authentication_classes = [device_auth.PushDeviceAuthentication]

    @extend_schema(
        operation_id="CreateChallenge",
        request={FORM: ChallengeCreateForm},
        responses={201: ChallengeSerializer, **ERRORS},
        tags=["Challenges"],
        description="With `AuthPayload` the challenge is evaluated at once: `approved` with "
        "`date_responded` for a valid code, `pending` for a wrong one.",
    )
    def post(self, request, service_sid: str, identity: str):
        device_auth.require_account(request)
        form = validated(ChallengeCreateForm, request)
        data = form.validated_data
        factor = factor_queries.factor_for_challenge(
            account=self.account,
            service_sid=service_sid,
            identity=identity,
            sid=data["factor_sid"],
        )
        create = domain.challenge_create
        if factor.factor_type == FactorType.PUSH:
            create = push_domain.push_challenge_create
        challenge = create(
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
        grant = device_auth.device_scope(request, service_sid, identity)
        entity = entity_queries.entity_get(
            account=self.account, service_sid=service_sid, identity=identity
        )
        query = validated(ChallengeListQuery, request, source="query").validated_data
        factor_sid = query.get("factor_sid")
        if grant is not None:  # a device lists its own factor's challenges only
            if factor_sid not in (None, grant.factor_sid):
                raise NotFound()
            factor_sid = grant.factor_sid
        return Response(
            paginate(
                request,
                queries.challenge_list(
                    entity=entity,
                    factor_sid=factor_sid,
                    status=query.get("status"),
                ),
                key="challenges",
                render=renderer(ChallengeSerializer, request),
                descending=query["order"] == "desc",
                extra_query={
                    "FactorSid": factor_sid,
                    "Status": query.get("status"),
                    "Order": request.query_params.get("Order"),
                },
            )
        )


class ChallengeDetailView(TwilioView):
    # The app fetches and answers its factor's challenges with its device token.
    authentication_classes = [device_auth.PushDeviceAuthentication]

    def _challenge(self, service_sid: str, identity: str, sid: str):
        grant = device_auth.device_scope(self.request, service_sid, identity)
        challenge = queries.challenge_get(
            account=self.account, service_sid=service_sid, identity=identity, sid=sid
        )
        if grant is not None and challenge.factor_id != grant.factor_sid:
            raise NotFound()
        return challenge

    @extend_schema(
        operation_id="FetchChallenge",
        responses={200: ChallengeSerializer},
        tags=["Challenges"],
        description="For a push challenge the header `Twilio-Verify-Signature-Fields` lists "
        "the fields the device signs in its answer (docs/push-protocol.md).",
    )
    def get(self, request, service_sid: str, identity: str, sid: str):
        challenge = domain.challenge_expire_if_due(
            challenge=self._challenge(service_sid, identity, sid)
        )
        response = Response(render(ChallengeSerializer, challenge, request))
        if push_domain.is_push(challenge):
            response[push_domain.SIGNATURE_FIELDS_HEADER] = ",".join(push_domain.SIGNATURE_FIELDS)
        return response

    @extend_schema(
        operation_id="UpdateChallenge",
        request={FORM: ChallengeUpdateForm},
        responses={200: ChallengeSerializer, **ERRORS},
        tags=["Challenges"],
    )
    def post(self, request, service_sid: str, identity: str, sid: str):
        challenge = self._challenge(service_sid, identity, sid)
        data = validated(ChallengeUpdateForm, request).validated_data
        respond = domain.challenge_respond
        if push_domain.is_push(challenge):
            respond = push_domain.push_challenge_respond
        challenge = respond(
            challenge=challenge,
            auth_payload=data.get("auth_payload"),
            metadata=data.get("metadata"),
        )
        return Response(render(ChallengeSerializer, challenge, request))


def _reload(request, view, verification):
    """Render with attempts as committed (the prefetch cache predates the write)."""
    fresh = queries.verification_find(
        account=view.account, service_sid=verification.service_id, sid=verification.sid
    )
    return render(VerificationSerializer, fresh, request)


class VerificationListView(TwilioView):
    @extend_schema(
        operation_id="CreateVerification",
        request={FORM: VerificationCreateForm},
        responses={201: VerificationSerializer},
        tags=["Verifications"],
    )
    def post(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        form = validated(VerificationCreateForm, request, context={"service": service})
        verification = domain.verification_start(service=service, **form.validated_data)
        # The domain hands back the attempts it wrote: nothing to read again after commit.
        return Response(
            render(VerificationSerializer, verification, request), status=status.HTTP_201_CREATED
        )


class VerificationDetailView(TwilioView):
    def _get(self, service_sid: str, sid: str):
        if not is_sid(sid, "VE"):
            sid = normalize_to(sid) or ""
            if not sid:
                raise NotFound()
        return queries.verification_get(
            account=self.account, service_sid=service_sid, sid_or_to=sid
        )

    @extend_schema(
        operation_id="FetchVerification",
        responses={200: VerificationSerializer},
        tags=["Verifications"],
    )
    def get(self, request, service_sid: str, sid: str):
        return Response(render(VerificationSerializer, self._get(service_sid, sid), request))

    @extend_schema(
        operation_id="UpdateVerification",
        request={FORM: VerificationUpdateForm},
        responses={200: VerificationSerializer},
        tags=["Verifications"],
    )
    def post(self, request, service_sid: str, sid: str):
        form = validated(VerificationUpdateForm, request)
        verification = self._get(service_sid, sid)
        if form.validated_data["status"] == "canceled":
            verification = domain.verification_cancel(verification=verification)
        else:
            verification = domain.verification_approve(verification=verification)
        return Response(_reload(request, self, verification))


class VerificationCheckView(TwilioView):
    @extend_schema(
        operation_id="CreateVerificationCheck",
        request={FORM: VerificationCheckForm},
        responses={201: VerificationCheckSerializer},
        tags=["Verifications"],
    )
    def post(self, request, service_sid: str):
        form = validated(VerificationCheckForm, request)
        data = form.validated_data
        verification = domain.verification_check_find(
            account=self.account,
            service_sid=service_sid,
            sid=data.get("verification_sid"),
            to=data.get("to"),
            code=data["code"],
            amount=data.get("amount"),
            payee=data.get("payee"),
        )
        return Response(
            render(VerificationCheckSerializer, verification, request),
            status=status.HTTP_201_CREATED,
        )
