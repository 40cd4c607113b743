from django.urls import path

from factors.api import entity_views, views
from verify_platform.lib.api import converters  # noqa: F401  (registers <sid:> and <text:>)

urlpatterns = [
    path(
        "Services/<sid:service_sid>/Entities",
        entity_views.EntityListView.as_view(),
        name="entity-list",
    ),
    path(
        "Services/<sid:service_sid>/Entities/<text:identity>",
        entity_views.EntityDetailView.as_view(),
        name="entity-detail",
    ),
    path(
        "Services/<sid:service_sid>/Entities/<text:identity>/Factors",
        views.FactorListView.as_view(),
        name="factor-list",
    ),
    path(
        "Services/<sid:service_sid>/Entities/<text:identity>/Factors/<sid:sid>",
        views.FactorDetailView.as_view(),
        name="factor-detail",
    ),
]
