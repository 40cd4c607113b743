from django.urls import path

from services.webhooks.api import views

urlpatterns = [
    path(
        "Services/<str:service_sid>/Webhooks",
        views.WebhookListView.as_view(),
        name="webhook-list",
    ),
    path(
        "Services/<str:service_sid>/Webhooks/<str:sid>",
        views.WebhookDetailView.as_view(),
        name="webhook-detail",
    ),
]
