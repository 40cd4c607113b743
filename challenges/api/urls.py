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
]
