from django.urls import path

from factors.api import views

urlpatterns = [
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
