from django.urls import path

from challenges.api import attempt_views, passkey_views, push_views, views
from verify_platform.lib.api import converters  # noqa: F401  (registers <sid:> and <text:>)

urlpatterns = [
    path("Attempts", attempt_views.AttemptListView.as_view(), name="attempt-list"),
    path("Attempts/Summary", attempt_views.AttemptsSummaryView.as_view(), name="attempt-summary"),
    path("Attempts/<sid:sid>", attempt_views.AttemptDetailView.as_view(), name="attempt-detail"),
    path(
        "Services/<sid:service_sid>/Entities/<text:identity>/Challenges",
        views.ChallengeListView.as_view(),
        name="challenge-list",
    ),
    path(
        "Services/<sid:service_sid>/Entities/<text:identity>/Challenges/<sid:sid>",
        views.ChallengeDetailView.as_view(),
        name="challenge-detail",
    ),
    path(
        "Services/<sid:service_sid>/Entities/<text:identity>/Challenges/<sid:challenge_sid>"
        "/Notifications",
        push_views.NotificationListView.as_view(),
        name="challenge-notification-list",
    ),
    path(
        "Services/<sid:service_sid>/Passkeys/Challenges",
        passkey_views.PasskeyChallengeCreateView.as_view(),
        name="passkey-challenge-create",
    ),
    path(
        "Services/<sid:service_sid>/Passkeys/ApproveChallenge",
        passkey_views.PasskeyChallengeApproveView.as_view(),
        name="passkey-challenge-approve",
    ),
    path(
        "Services/<sid:service_sid>/Verifications",
        views.VerificationListView.as_view(),
        name="verification-list",
    ),
    path(
        "Services/<sid:service_sid>/Verifications/<text:sid>",
        views.VerificationDetailView.as_view(),
        name="verification-detail",
    ),
    path(
        "Services/<sid:service_sid>/VerificationCheck",
        views.VerificationCheckView.as_view(),
        name="verification-check",
    ),
]
