"""`/v2/Services/{ServiceSid}/Entities[/{Identity}]`, served with the factors' API: deleting
an Entity deletes its factors, each announced with `factor.deleted` (`factors` sits above
`entities`, so the Entity resource's views live here)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from entities import domain, queries
from factors import domain as factor_domain
from factors.api.entity_serializers import EntityForm, EntitySerializer
from services import queries as service_queries
from verify_platform.lib.api.pagination import PageQuery, paginate
from verify_platform.lib.api.views import TwilioView, render, renderer, validated

FORM = "application/x-www-form-urlencoded"


class EntityListView(TwilioView):
    @extend_schema(
        operation_id="CreateEntity",
        request={FORM: EntityForm},
        responses={
            201: EntitySerializer,
            409: OpenApiResponse(description="60301 an Entity with this Identity exists."),
        },
        tags=["Entities"],
    )
    def post(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        form = validated(EntityForm, request)
        entity = domain.entity_create(service=service, identity=form.validated_data["identity"])
        return Response(render(EntitySerializer, entity, request), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="ListEntity",
        parameters=[PageQuery],
        responses={200: EntitySerializer(many=True)},
        tags=["Entities"],
    )
    def get(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        return Response(
            paginate(
                request,
                queries.entity_list(service=service).select_related("service"),
                key="entities",
                render=renderer(EntitySerializer, request),
            )
        )


class EntityDetailView(TwilioView):
    @extend_schema(operation_id="FetchEntity", responses={200: EntitySerializer}, tags=["Entities"])
    def get(self, request, service_sid: str, identity: str):
        entity = queries.entity_get(
            account=self.account, service_sid=service_sid, identity=identity
        )
        return Response(render(EntitySerializer, entity, request))

    @extend_schema(operation_id="DeleteEntity", responses={204: None}, tags=["Entities"])
    def delete(self, request, service_sid: str, identity: str):
        entity = queries.entity_get(
            account=self.account, service_sid=service_sid, identity=identity
        )
        # Through factors: every factor that goes with the entity is announced (factor.deleted).
        factor_domain.factors_delete_with_entity(entity=entity)
        return Response(status=status.HTTP_204_NO_CONTENT)
