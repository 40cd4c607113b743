"""`/v2/Services/{ServiceSid}/Verifications[/{Sid or To}]` and `/VerificationCheck`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from challenges import domain, queries
from challenges.api.serializers import (
    VerificationCheckForm,
    VerificationCheckSerializer,
    VerificationCreateForm,
    VerificationSerializer,
    VerificationUpdateForm,
)
from challenges.destinations import normalize_to
from services import queries as service_queries
from verify_platform.lib.api.views import TwilioView, render, validated
from verify_platform.lib.errors import NotFound
from verify_platform.lib.sids import is_sid

FORM = "application/x-www-form-urlencoded"


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
        return Response(_reload(request, self, verification), status=status.HTTP_201_CREATED)


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
        verification = queries.verification_find(
            account=self.account,
            service_sid=service_sid,
            sid=data.get("verification_sid"),
            to=data.get("to"),
        )
        verification = domain.verification_check(verification=verification, code=data["code"])
        return Response(
            render(VerificationCheckSerializer, verification, request),
            status=status.HTTP_201_CREATED,
        )
