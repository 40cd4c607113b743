"""`/v2/Services/{ServiceSid}/MessagingConfigurations[/{Country}]`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from services import messaging_domain as domain
from services import messaging_queries as queries
from services import queries as service_queries
from services.api.messaging_serializers import (
    MessagingConfigurationCreateForm,
    MessagingConfigurationSerializer,
    MessagingConfigurationUpdateForm,
)
from verify_platform.lib.api.pagination import PageQuery, paginate
from verify_platform.lib.api.views import TwilioView, render, renderer, validated

FORM = "application/x-www-form-urlencoded"
TAGS = ["MessagingConfigurations"]


class MessagingConfigurationListView(TwilioView):
    @extend_schema(
        operation_id="CreateMessagingConfiguration",
        request={FORM: MessagingConfigurationCreateForm},
        responses={
            201: MessagingConfigurationSerializer,
            400: OpenApiResponse(
                description="60200 an invalid parameter; 60213 the country is configured "
                "already (update it instead)."
            ),
        },
        tags=TAGS,
    )
    def post(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        form = validated(MessagingConfigurationCreateForm, request)
        configuration = domain.messaging_configuration_create(
            service=service, **form.validated_data
        )
        return Response(
            render(MessagingConfigurationSerializer, configuration, request),
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="ListMessagingConfiguration",
        parameters=[PageQuery],
        responses={200: MessagingConfigurationSerializer(many=True)},
        tags=TAGS,
    )
    def get(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        return Response(
            paginate(
                request,
                queries.messaging_configuration_list(service=service),
                key="messaging_configurations",
                render=renderer(MessagingConfigurationSerializer, request),
            )
        )


class MessagingConfigurationDetailView(TwilioView):
    def _get(self, service_sid: str, country: str):
        return queries.messaging_configuration_get(
            account=self.account, service_sid=service_sid, country=country
        )

    @extend_schema(
        operation_id="FetchMessagingConfiguration",
        responses={200: MessagingConfigurationSerializer},
        tags=TAGS,
    )
    def get(self, request, service_sid: str, country: str):
        configuration = self._get(service_sid, country)
        return Response(render(MessagingConfigurationSerializer, configuration, request))

    @extend_schema(
        operation_id="UpdateMessagingConfiguration",
        request={FORM: MessagingConfigurationUpdateForm},
        responses={200: MessagingConfigurationSerializer},
        tags=TAGS,
    )
    def post(self, request, service_sid: str, country: str):
        configuration = self._get(service_sid, country)
        form = validated(MessagingConfigurationUpdateForm, request)
        configuration = domain.messaging_configuration_update(
            configuration=configuration, **form.validated_data
        )
        return Response(render(MessagingConfigurationSerializer, configuration, request))

    @extend_schema(operation_id="DeleteMessagingConfiguration", responses={204: None}, tags=TAGS)
    def delete(self, request, service_sid: str, country: str):
        domain.messaging_configuration_delete(configuration=self._get(service_sid, country))
        return Response(status=status.HTTP_204_NO_CONTENT)
