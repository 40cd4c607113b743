from django.urls import path

from factors.api import entity_views, views

urlpatterns = [
    path(
        "Services/<str:service_sid>/Entities",
        entity_views.EntityListView.as_view(),
        name="entity-list",
    ),
    path(
        "Services/<str:service_sid>/Entities/<str:identity>",
        entity_views.EntityDetailView.as_view(),
        name="entity-detail",
    ),
    path(
        "Services/<str:service_sid>/Entities/<str:identity>/Factors",
        views.FactorListView.as_view(),
        name="factor-list",
    ),
    path(
        "Services/<str:service_sid>/Entities/<str:identity>/Factors/<str:sid>",
        views.FactorDetailView.as_view(),
        name="factor-detail",
    ),
]
