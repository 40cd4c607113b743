"""`/v2/Services/{ServiceSid}/Entities/{Identity}/Factors[/{Sid}]`."""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from entities import queries as entity_queries
from factors import device_auth, domain, queries
from factors.api.entity_serializers import IDENTITY_PATTERN
from factors.api.push_views import push_factor_create, push_factor_update
from factors.api.serializers import (
    FactorCreateForm,
    FactorsDeleteQuery,
    FactorSerializer,
    FactorUpdateForm,
    NewFactorSerializer,
)
from factors.models import FactorType
from services import queries as service_queries
from verify_platform.lib.api.pagination import PageQuery, paginate
from verify_platform.lib.api.views import TwilioView, render, renderer, validated
from verify_platform.lib.errors import InvalidParameter

FORM = "application/x-www-form-urlencoded"
THROTTLE_NOTE = (
    "429 with code 60310: too many consecutive failures on this factor (`Retry-After` gives "
    "the wait), or the factor is locked after 100 failures (no `Retry-After`)."
)


def _check_identity(identity: str) -> str:
    """The entity may be created here, so its identity is validated like on entity create."""
    if not re.fullmatch(IDENTITY_PATTERN, identity):
        raise InvalidParameter("Identity", "must be 8-64 characters of A-Z, a-z, 0-9 and '-'")
    return identity


class FactorListView(TwilioView):
    # A phone app enrols its push factor with an access token (docs/push-protocol.md).
    authentication_classes = [device_auth.PushDeviceAuthentication]

    @extend_schema(
        operation_id="CreateNewFactor",
        request={FORM: FactorCreateForm},
        responses={
            201: NewFactorSerializer,
            403: OpenApiResponse(
                description="Phone factors (**Extension**): 60410 the number is of a special "
                "kind (premium rate, personal number, ...) the account does not allow; 60605 "
                "its country is not allowed. Nothing is stored or sent."
            ),
        },
        tags=["Factors"],
        description="Creates the factor, and the entity when it does not exist yet. "
        "`binding` (the seed, key URI and QR, or the recovery codes) is returned only here.",
    )
    def post(self, request, service_sid: str, identity: str):
        grant = device_auth.enrolment_scope(request, service_sid, identity)
        service = service_queries.service_get(account=self.account, sid=service_sid)
        _check_identity(identity)
        form = validated(FactorCreateForm, request)
        data = form.validated_data
        if data["factor_type"] == FactorType.PUSH or grant is not None:
            return push_factor_create(request, service, identity, form, grant)
        config = form.config()
        factor, binding = domain.factor_create(
            service=service,
            identity=identity,
            factor_type=data["factor_type"],
            friendly_name=data["friendly_name"],
            secret=data.get("binding__secret"),
            phone_number=data.get("binding__phone_number"),
            metadata=data.get("metadata"),
            **config,
        )
        body = NewFactorSerializer(factor, context={"request": request, "binding": binding}).data
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        operation_id="ListFactor",
        parameters=[PageQuery],
        responses={200: FactorSerializer(many=True)},
        tags=["Factors"],
    )
    def get(self, request, service_sid: str, identity: str):
        device_auth.require_account(request)
        entity = entity_queries.entity_get(
            account=self.account, service_sid=service_sid, identity=identity
        )
        return Response(
            paginate(
                request,
                queries.factor_list(entity=entity),
                key="factors",
                render=renderer(FactorSerializer, request),
            )
        )

    @extend_schema(
        operation_id="DeleteEntityFactors",
        parameters=[FactorsDeleteQuery],
        responses={204: None},
        tags=["Factors"],
        description="**Extension**: turn two-factor sign-in off for the entity in one call. "
        "Deletes, in one transaction, every factor of the types named by `FactorType` "
        "(query string; default `totp` and `recovery_codes`), each announced with a "
        "`factor.deleted` event; the entity and its challenges (the audit trail) stay. "
        "204 also when there was nothing to delete; an unknown service or entity is 404.",
    )
    def delete(self, request, service_sid: str, identity: str):
        device_auth.require_account(request)
        entity = entity_queries.entity_get(
            account=self.account, service_sid=service_sid, identity=identity
        )
        # The query string, as for any DELETE; a form body is read too, so a filter sent
        # there is never silently ignored (which would delete the default types instead).
        source = "query" if "FactorType" in request.query_params else "data"
        query = validated(FactorsDeleteQuery, request, source=source).validated_data
        domain.factors_delete_of_entity(
            entity=entity, factor_types=query.get("factor_type") or domain.TWO_FACTOR_TYPES
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class FactorDetailView(TwilioView):
    # The app reads, updates (verifies) and deletes its own push factor with its device token.
    authentication_classes = [device_auth.PushDeviceAuthentication]

    def _factor(self, service_sid: str, identity: str, sid: str):
        device_auth.device_scope(self.request, service_sid, identity, sid)
        return queries.factor_get(
            account=self.account, service_sid=service_sid, identity=identity, sid=sid
        )

    @extend_schema(operation_id="FetchFactor", responses={200: FactorSerializer}, tags=["Factors"])
    def get(self, request, service_sid: str, identity: str, sid: str):
        return Response(render(FactorSerializer, self._factor(service_sid, identity, sid), request))

    @extend_schema(
        operation_id="UpdateFactor",
        request={FORM: FactorUpdateForm},
        responses={
            200: FactorSerializer,
            429: OpenApiResponse(description=THROTTLE_NOTE),
        },
        tags=["Factors"],
    )
    def post(self, request, service_sid: str, identity: str, sid: str):
        factor = self._factor(service_sid, identity, sid)
        form = validated(FactorUpdateForm, request)
        data = form.validated_data
        if factor.factor_type == FactorType.PUSH:
            return push_factor_update(request, factor, form)
        factor = domain.factor_update(
            factor=factor,
            friendly_name=data.get("friendly_name"),
            config=form.config(),
            auth_payload=data.get("auth_payload"),
        )
        factor = self._factor(service_sid, identity, sid)
        return Response(render(FactorSerializer, factor, request))

    @extend_schema(operation_id="DeleteFactor", responses={204: None}, tags=["Factors"])
    def delete(self, request, service_sid: str, identity: str, sid: str):
        domain.factor_delete(factor=self._factor(service_sid, identity, sid))
        return Response(status=status.HTTP_204_NO_CONTENT)
