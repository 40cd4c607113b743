"""`/v2/Attempts[/{Sid}]` and `/v2/Attempts/Summary`: Twilio's Verification Attempts API,
account-wide (no service in the path; `VerifyServiceSid` filters)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from challenges import attempt_queries
from challenges.api.attempt_serializers import (
    AttemptListQuery,
    AttemptSerializer,
    AttemptsSummarySerializer,
    AttemptSummaryQuery,
)
from verify_platform.lib.api.pagination import PageQuery, paginate
from verify_platform.lib.api.views import TwilioView, render, renderer, validated

TAGS = ["Verification Attempts"]
# The filters a next page must repeat, by wire name.
_LIST_FILTERS = (
    "DateCreatedAfter",
    "DateCreatedBefore",
    "ChannelData.To",
    "Country",
    "Channel",
    "VerifyServiceSid",
    "VerificationSid",
    "Status",
)


class AttemptListView(TwilioView):
    @extend_schema(
        operation_id="ListVerificationAttempt",
        parameters=[PageQuery, AttemptListQuery],
        responses={200: AttemptSerializer(many=True)},
        tags=TAGS,
        description="The account's verification attempts (each send and fallback step that "
        "went out), oldest first. `DateCreatedAfter` is inclusive, `DateCreatedBefore` "
        "exclusive.",
    )
    def get(self, request):
        form = validated(AttemptListQuery, request, source="query")
        return Response(
            paginate(
                request,
                attempt_queries.attempt_list(account=self.account, filters=form.filters()),
                key="attempts",
                render=renderer(AttemptSerializer, request),
                extra_query={name: request.query_params.get(name) for name in _LIST_FILTERS},
            )
        )


class AttemptDetailView(TwilioView):
    @extend_schema(
        operation_id="FetchVerificationAttempt",
        responses={200: AttemptSerializer},
        tags=TAGS,
    )
    def get(self, request, sid: str):
        attempt = attempt_queries.attempt_get(account=self.account, sid=sid)
        return Response(render(AttemptSerializer, attempt, request))


class AttemptsSummaryView(TwilioView):
    @extend_schema(
        operation_id="FetchVerificationAttemptsSummary",
        parameters=[AttemptSummaryQuery],
        responses={200: AttemptsSummarySerializer},
        tags=TAGS,
        description="How many of the account's attempts matching the filters were converted "
        "(their verification approved). One aggregate over the matching rows: bound it "
        "with `DateCreatedAfter`/`DateCreatedBefore`.",
    )
    def get(self, request):
        form = validated(AttemptSummaryQuery, request, source="query")
        totals = attempt_queries.attempt_summary(account=self.account, filters=form.filters())
        return Response(render(AttemptsSummarySerializer, totals, request))
