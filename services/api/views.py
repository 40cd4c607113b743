"""`/v2/Services` and `/v2/Services/{Sid}`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from services import domain, queries
from services.api.serializers import ServiceForm, ServiceSerializer
from verify_platform.lib.api.pagination import PageQuery, paginate
from verify_platform.lib.api.views import TwilioView, render, renderer, validated

FORM = "application/x-www-form-urlencoded"


class ServiceListView(TwilioView):
    @extend_schema(
        operation_id="CreateService",
        request={FORM: ServiceForm},
        responses={201: ServiceSerializer},
        tags=["Services"],
    )
    def post(self, request):
        form = validated(ServiceForm, request)
        service = domain.service_create(account=self.account, **form.model_fields())
        return Response(render(ServiceSerializer, service, request), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="ListService",
        parameters=[PageQuery],
        responses={200: ServiceSerializer(many=True)},
        tags=["Services"],
    )
    def get(self, request):
        return Response(
            paginate(
                request,
                queries.service_list(account=self.account),
                key="services",
                render=renderer(ServiceSerializer, request),
            )
        )


class ServiceDetailView(TwilioView):
    @extend_schema(
        operation_id="FetchService", responses={200: ServiceSerializer}, tags=["Services"]
    )
    def get(self, request, sid: str):
        service = queries.service_get(account=self.account, sid=sid)
        return Response(render(ServiceSerializer, service, request))

    @extend_schema(
        operation_id="UpdateService",
        request={FORM: ServiceForm},
        responses={200: ServiceSerializer},
        tags=["Services"],
    )
    def post(self, request, sid: str):
        service = queries.service_get(account=self.account, sid=sid)
        form = validated(ServiceForm, request, partial=True)
        service = domain.service_update(service=service, **form.model_fields())
        return Response(render(ServiceSerializer, service, request))

    @extend_schema(operation_id="DeleteService", responses={204: None}, tags=["Services"])
    def delete(self, request, sid: str):
        service = queries.service_get(account=self.account, sid=sid)
        domain.service_delete(service=service)
        return Response(status=status.HTTP_204_NO_CONTENT)
