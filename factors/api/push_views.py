"""Verify Push's factor endpoints: push factor create and update (called from the factor
views), `/v2/Services/{ServiceSid}/AccessTokens[/{Sid}]` and `/v2/Forms/{FormType}`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from factors import push_queries
from factors.api.push_serializers import (
    AccessTokenCreateForm,
    AccessTokenSerializer,
    FormSerializer,
)
from factors.api.serializers import FactorSerializer, NewFactorSerializer
from factors.device_auth import AccessTokenGrant
from factors.domain import push as push_domain
from factors.push_models import NotificationPlatform
from services import queries as service_queries
from verify_platform.lib.api.fields import absolute_urls
from verify_platform.lib.api.forms import TwilioForm
from verify_platform.lib.api.views import TwilioView, render, validated
from verify_platform.lib.errors import AuthenticationFailed, NotFound

FORM = "application/x-www-form-urlencoded"


def push_factor_create(request, service, identity: str, form: TwilioForm, grant) -> Response:
    """A push factor, by the backend (account credentials) or by the app (`grant`, its
    access token, spent by this create)."""
    data = form.validated_data
    if grant is not None and data["factor_type"] != "push":
        raise AuthenticationFailed()  # an access token enrols push factors only
    config = form.push_config()
    factor, binding = push_domain.push_factor_create(
        service=service,
        identity=identity,
        friendly_name=data["friendly_name"],
        alg=data.get("binding__alg"),
        public_key=data.get("binding__public_key"),
        app_id=config.get("app_id"),
        notification_platform=config.get("notification_platform"),
        notification_token=config.get("notification_token"),
        sdk_version=config.get("sdk_version"),
        metadata=data.get("metadata"),
        access_token=grant.sid if isinstance(grant, AccessTokenGrant) else None,
    )
    body = NewFactorSerializer(factor, context={"request": request, "binding": binding}).data
    response = Response(body, status=status.HTTP_201_CREATED)
    response["Cache-Control"] = "no-store"
    return response


def push_factor_update(request, factor, form: TwilioForm) -> Response:
    data = form.validated_data
    factor = push_domain.push_factor_update(
        factor=factor,
        friendly_name=data.get("friendly_name"),
        config=form.push_config(),
        auth_payload=data.get("auth_payload"),
    )
    return Response(render(FactorSerializer, factor, request))


def _token_body(request, token) -> dict:
    return AccessTokenSerializer(
        token, context={"request": request, "token": push_domain.access_token_jwt(token)}
    ).data


class AccessTokenListView(TwilioView):
    @extend_schema(
        operation_id="CreateAccessToken",
        request={FORM: AccessTokenCreateForm},
        responses={201: AccessTokenSerializer},
        tags=["AccessTokens"],
        description="An enrolment token for a phone app: the app sends it as HTTP Basic "
        "`token:<token>` on one push factor create for this service and `Identity` "
        "(docs/push-protocol.md). Single-use, valid `ttl` seconds.",
    )
    def post(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        data = validated(AccessTokenCreateForm, request).validated_data
        token = push_domain.access_token_create(
            service=service,
            identity=data["identity"],
            factor_type=data["factor_type"],
            factor_friendly_name=data.get("factor_friendly_name"),
            ttl=data.get("ttl"),
        )
        response = Response(_token_body(request, token), status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class AccessTokenDetailView(TwilioView):
    @extend_schema(
        operation_id="FetchAccessToken",
        responses={200: AccessTokenSerializer},
        tags=["AccessTokens"],
    )
    def get(self, request, service_sid: str, sid: str):
        token = push_queries.access_token_get(
            account=self.account, service_sid=service_sid, sid=sid
        )
        response = Response(_token_body(request, token))
        response["Cache-Control"] = "no-store"
        return response


def _push_forms() -> dict:
    """JSON Schemas of what the push forms take, as this server checks them."""
    platforms = [p.value for p in NotificationPlatform]
    return {
        "create_factor": {
            "title": "Create Factor Form",
            "type": "object",
            "description": "Create Factor Form (push)",
            "required": ["binding", "config"],
            "properties": {
                "binding": {
                    "type": "object",
                    "required": ["alg", "public_key"],
                    "properties": {
                        "alg": {"type": "string", "enum": ["ES256"]},
                        "public_key": {"type": "string", "description": "base64 DER SPKI, P-256"},
                    },
                },
                "config": {
                    "type": "object",
                    "required": ["app_id", "notification_platform"],
                    "properties": {
                        "sdk_version": {"type": "string"},
                        "app_id": {"type": "string"},
                        "notification_platform": {"type": "string", "enum": platforms},
                        "notification_token": {"type": "string", "minLength": 32, "maxLength": 255},
                    },
                },
            },
        },
        "verify_factor": {
            "title": "Verify Factor Form",
            "type": "object",
            "description": "Verify Factor Form (push)",
            "required": ["auth_payload"],
            "properties": {
                "auth_payload": {
                    "type": "string",
                    "description": "base64 DER ECDSA-SHA256 signature of the factor SID",
                }
            },
        },
        "create_challenge": {
            "title": "Create Challenge Form",
            "type": "object",
            "description": "Create Challenge Form (push)",
            "required": ["details"],
            "properties": {
                "details": {
                    "type": "object",
                    "required": ["message"],
                    "properties": {
                        "message": {"type": "string", "maxLength": 256},
                        "fields": {
                            "type": "array",
                            "maxItems": 20,
                            "items": {
                                "type": "object",
                                "properties": {
                                    "label": {"type": "string", "maxLength": 36},
                                    "value": {"type": "string", "maxLength": 128},
                                },
                            },
                        },
                    },
                },
                "hidden_details": {"type": "object"},
            },
        },
    }


class FormView(TwilioView):
    @extend_schema(
        operation_id="FetchForm",
        parameters=[
            OpenApiParameter(
                "form_type",
                str,
                OpenApiParameter.PATH,
                enum=["form-push"],
                description="Only `form-push`; any other type is 404.",
            )
        ],
        responses={200: FormSerializer, 404: OpenApiResponse(description="Unknown form type.")},
        tags=["Forms"],
    )
    def get(self, request, form_type: str):
        if form_type != "form-push":
            raise NotFound()
        (url,) = absolute_urls(request, ("/v2/Forms/form-push",))
        return Response(
            {
                "form_type": "form-push",
                "forms": _push_forms(),
                "form_meta": {},
                "url": url,
            }
        )
