from django.urls import path

from challenges.api import views

urlpatterns = [
    path(
        "Services/<str:service_sid>/Entities/<str:identity>/Challenges",
        views.ChallengeListView.as_view(),
        name="challenge-list",
    ),
    path(
        "Services/<str:service_sid>/Entities/<str:identity>/Challenges/<str:sid>",
        views.ChallengeDetailView.as_view(),
        name="challenge-detail",
    ),
    path(
        "Services/<str:service_sid>/Verifications",
        views.VerificationListView.as_view(),
        name="verification-list",
    ),
    path(
        "Services/<str:service_sid>/Verifications/<str:sid>",
        views.VerificationDetailView.as_view(),
        name="verification-detail",
    ),
    path(
        "Services/<str:service_sid>/VerificationCheck",
        views.VerificationCheckView.as_view(),
        name="verification-check",
    ),
]
