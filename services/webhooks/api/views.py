"""`/v2/Services/{ServiceSid}/Webhooks[/{Sid}]`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from services import queries as service_queries
from services.webhooks import domain, queries
from services.webhooks.api.serializers import (
    WebhookCreatedSerializer,
    WebhookForm,
    WebhookSerializer,
)
from verify_platform.lib.api.pagination import PageQuery, paginate
from verify_platform.lib.api.views import TwilioView, render, renderer, validated

FORM = "application/x-www-form-urlencoded"


class WebhookListView(TwilioView):
    @extend_schema(
        operation_id="CreateWebhook",
        request={FORM: WebhookForm},
        responses={201: WebhookCreatedSerializer},
        tags=["Webhooks"],
    )
    def post(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        form = validated(WebhookForm, request)
        webhook, secret = domain.webhook_create(service=service, **form.validated_data)
        body = WebhookCreatedSerializer(
            webhook, context={"request": request, "signing_secret": secret}
        ).data
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        operation_id="ListWebhook",
        parameters=[PageQuery],
        responses={200: WebhookSerializer(many=True)},
        tags=["Webhooks"],
    )
    def get(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        return Response(
            paginate(
                request,
                queries.webhook_list(service=service),
                key="webhooks",
                render=renderer(WebhookSerializer, request),
            )
        )


class WebhookDetailView(TwilioView):
    @extend_schema(
        operation_id="FetchWebhook", responses={200: WebhookSerializer}, tags=["Webhooks"]
    )
    def get(self, request, service_sid: str, sid: str):
        webhook = queries.webhook_get(account=self.account, service_sid=service_sid, sid=sid)
        return Response(render(WebhookSerializer, webhook, request))

    @extend_schema(
        operation_id="UpdateWebhook",
        request={FORM: WebhookForm},
        responses={200: WebhookSerializer},
        tags=["Webhooks"],
    )
    def post(self, request, service_sid: str, sid: str):
        webhook = queries.webhook_get(account=self.account, service_sid=service_sid, sid=sid)
        form = validated(WebhookForm, request, partial=True)
        webhook = domain.webhook_update(webhook=webhook, **form.validated_data)
        return Response(render(WebhookSerializer, webhook, request))

    @extend_schema(operation_id="DeleteWebhook", responses={204: None}, tags=["Webhooks"])
    def delete(self, request, service_sid: str, sid: str):
        webhook = queries.webhook_get(account=self.account, service_sid=service_sid, sid=sid)
        domain.webhook_delete(webhook=webhook)
        return Response(status=status.HTTP_204_NO_CONTENT)
