from django.urls import path

from entities.api import views

urlpatterns = [
    path(
        "Services/<str:service_sid>/Entities",
        views.EntityListView.as_view(),
        name="entity-list",
    ),
    path(
        "Services/<str:service_sid>/Entities/<str:identity>",
        views.EntityDetailView.as_view(),
        name="entity-detail",
    ),
]
