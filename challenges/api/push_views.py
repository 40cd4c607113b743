"""`POST /v2/Services/{ServiceSid}/Entities/{Identity}/Challenges/{Sid}/Notifications`: send
a pending push challenge's notification again (wire reference 4.7)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from challenges import queries
from challenges.domain import push as push_domain
from verify_platform.lib.api.forms import StrictIntegerField, TwilioForm
from verify_platform.lib.api.views import TwilioView, validated

FORM = "application/x-www-form-urlencoded"


class NotificationCreateForm(TwilioForm):
    ttl = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=300,
        help_text="How long the provider may hold the notification, in seconds: 0 (one "
        "attempt, not stored) to 300, the default.",
    )


class NotificationSerializer(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = serializers.CharField()
    service_sid = serializers.CharField()
    entity_sid = serializers.CharField()
    identity = serializers.CharField()
    challenge_sid = serializers.CharField()
    priority = serializers.CharField(help_text="Always `high`.")
    ttl = serializers.IntegerField()
    date_created = serializers.DateTimeField()


class NotificationListView(TwilioView):
    @extend_schema(
        operation_id="CreateNotification",
        request={FORM: NotificationCreateForm},
        responses={
            201: NotificationSerializer,
            400: OpenApiResponse(
                description="60200: not a push challenge, or its factor's platform is `none`."
            ),
            403: OpenApiResponse(
                description="60323 the challenge has expired; 60322 it was already answered."
            ),
        },
        tags=["Challenges"],
        description="Queues the push notification of a pending push challenge again.",
    )
    def post(self, request, service_sid: str, identity: str, challenge_sid: str):
        challenge = queries.challenge_get(
            account=self.account, service_sid=service_sid, identity=identity, sid=challenge_sid
        )
        data = validated(NotificationCreateForm, request).validated_data
        notification = push_domain.push_notification_create(
            challenge=challenge, ttl=data.get("ttl")
        )
        return Response(NotificationSerializer(notification).data, status=status.HTTP_201_CREATED)
