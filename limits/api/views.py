"""`/v2/Services/{ServiceSid}/RateLimits[/{Sid}[/Buckets[/{Sid}]]]` and
`/v2/SafeList/Numbers[/{PhoneNumber}]`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from limits import domain, queries
from limits.api.serializers import (
    BucketForm,
    BucketSerializer,
    RateLimitCreateForm,
    RateLimitSerializer,
    RateLimitUpdateForm,
    SafeListNumberCreateForm,
    SafeListNumberSerializer,
)
from services import queries as service_queries
from verify_platform.lib.api.pagination import PageQuery, paginate
from verify_platform.lib.api.views import TwilioView, render, renderer, validated

FORM = "application/x-www-form-urlencoded"
RATE_LIMIT_ERRORS = {
    400: OpenApiResponse(
        description="60207 the service has the maximum number of rate limits; 60208 a rate "
        "limit with that UniqueName exists; 60209 UniqueName format is invalid; 60200 invalid "
        "parameter."
    )
}
BUCKET_ERRORS = {
    400: OpenApiResponse(
        description="60210 the rate limit has the maximum number of buckets; 60211 a bucket "
        "with that Interval exists; 60200 invalid parameter."
    )
}


class RateLimitListView(TwilioView):
    @extend_schema(
        operation_id="CreateRateLimit",
        request={FORM: RateLimitCreateForm},
        responses={201: RateLimitSerializer, **RATE_LIMIT_ERRORS},
        tags=["RateLimits"],
    )
    def post(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        data = validated(RateLimitCreateForm, request).validated_data
        rate_limit = domain.rate_limit_create(service=service, **data)
        return Response(
            render(RateLimitSerializer, rate_limit, request), status=status.HTTP_201_CREATED
        )

    @extend_schema(
        operation_id="ListRateLimit",
        parameters=[PageQuery],
        responses={200: RateLimitSerializer(many=True)},
        tags=["RateLimits"],
    )
    def get(self, request, service_sid: str):
        service = service_queries.service_get(account=self.account, sid=service_sid)
        return Response(
            paginate(
                request,
                queries.rate_limit_list(service=service),
                key="rate_limits",
                render=renderer(RateLimitSerializer, request),
            )
        )


class RateLimitDetailView(TwilioView):
    def _get(self, service_sid: str, sid: str):
        return queries.rate_limit_get(account=self.account, service_sid=service_sid, sid=sid)

    @extend_schema(
        operation_id="FetchRateLimit", responses={200: RateLimitSerializer}, tags=["RateLimits"]
    )
    def get(self, request, service_sid: str, sid: str):
        return Response(render(RateLimitSerializer, self._get(service_sid, sid), request))

    @extend_schema(
        operation_id="UpdateRateLimit",
        request={FORM: RateLimitUpdateForm},
        responses={200: RateLimitSerializer},
        tags=["RateLimits"],
    )
    def post(self, request, service_sid: str, sid: str):
        rate_limit = self._get(service_sid, sid)
        data = validated(RateLimitUpdateForm, request).validated_data
        rate_limit = domain.rate_limit_update(rate_limit=rate_limit, **data)
        return Response(render(RateLimitSerializer, rate_limit, request))

    @extend_schema(operation_id="DeleteRateLimit", responses={204: None}, tags=["RateLimits"])
    def delete(self, request, service_sid: str, sid: str):
        domain.rate_limit_delete(rate_limit=self._get(service_sid, sid))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BucketListView(TwilioView):
    def _rate_limit(self, service_sid: str, rate_limit_sid: str):
        return queries.rate_limit_get(
            account=self.account, service_sid=service_sid, sid=rate_limit_sid
        )

    @extend_schema(
        operation_id="CreateBucket",
        request={FORM: BucketForm},
        responses={201: BucketSerializer, **BUCKET_ERRORS},
        tags=["RateLimits"],
    )
    def post(self, request, service_sid: str, rate_limit_sid: str):
        rate_limit = self._rate_limit(service_sid, rate_limit_sid)
        data = validated(BucketForm, request).validated_data
        bucket = domain.bucket_create(rate_limit=rate_limit, **data)
        return Response(render(BucketSerializer, bucket, request), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="ListBucket",
        parameters=[PageQuery],
        responses={200: BucketSerializer(many=True)},
        tags=["RateLimits"],
    )
    def get(self, request, service_sid: str, rate_limit_sid: str):
        rate_limit = self._rate_limit(service_sid, rate_limit_sid)
        return Response(
            paginate(
                request,
                queries.bucket_list(rate_limit=rate_limit),
                key="buckets",
                render=renderer(BucketSerializer, request),
            )
        )


class BucketDetailView(TwilioView):
    def _get(self, service_sid: str, rate_limit_sid: str, sid: str):
        return queries.bucket_get(
            account=self.account, service_sid=service_sid, rate_limit_sid=rate_limit_sid, sid=sid
        )

    @extend_schema(
        operation_id="FetchBucket", responses={200: BucketSerializer}, tags=["RateLimits"]
    )
    def get(self, request, service_sid: str, rate_limit_sid: str, sid: str):
        return Response(
            render(BucketSerializer, self._get(service_sid, rate_limit_sid, sid), request)
        )

    @extend_schema(
        operation_id="UpdateBucket",
        request={FORM: BucketForm},
        responses={200: BucketSerializer, **BUCKET_ERRORS},
        tags=["RateLimits"],
    )
    def post(self, request, service_sid: str, rate_limit_sid: str, sid: str):
        bucket = self._get(service_sid, rate_limit_sid, sid)
        data = validated(BucketForm, request, partial=True).validated_data
        bucket = domain.bucket_update(bucket=bucket, **data)
        return Response(render(BucketSerializer, bucket, request))

    @extend_schema(operation_id="DeleteBucket", responses={204: None}, tags=["RateLimits"])
    def delete(self, request, service_sid: str, rate_limit_sid: str, sid: str):
        domain.bucket_delete(bucket=self._get(service_sid, rate_limit_sid, sid))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SafeListListView(TwilioView):
    @extend_schema(
        operation_id="CreateSafelist",
        request={FORM: SafeListNumberCreateForm},
        responses={
            201: SafeListNumberSerializer,
            400: OpenApiResponse(description="60200 PhoneNumber is not a valid E.164 number."),
            409: OpenApiResponse(description="60411 the number is already in the Safe List."),
        },
        tags=["SafeList"],
    )
    def post(self, request):
        data = validated(SafeListNumberCreateForm, request).validated_data
        entry = domain.safe_list_number_create(account=self.account, **data)
        return Response(
            render(SafeListNumberSerializer, entry, request), status=status.HTTP_201_CREATED
        )


class SafeListDetailView(TwilioView):
    @extend_schema(
        operation_id="FetchSafelist", responses={200: SafeListNumberSerializer}, tags=["SafeList"]
    )
    def get(self, request, phone_number: str):
        entry = queries.safe_list_number_get(account=self.account, phone_number=phone_number)
        return Response(render(SafeListNumberSerializer, entry, request))

    @extend_schema(operation_id="DeleteSafelist", responses={204: None}, tags=["SafeList"])
    def delete(self, request, phone_number: str):
        domain.safe_list_number_delete(account=self.account, phone_number=phone_number)
        return Response(status=status.HTTP_204_NO_CONTENT)
