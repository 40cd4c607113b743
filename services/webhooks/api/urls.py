from django.urls import path

from services.webhooks.api import views
from verify_platform.lib.api import converters  # noqa: F401  (registers <sid:> and <text:>)

urlpatterns = [
    path(
        "Services/<sid:service_sid>/Webhooks",
        views.WebhookListView.as_view(),
        name="webhook-list",
    ),
    path(
        "Services/<sid:service_sid>/Webhooks/<sid:sid>",
        views.WebhookDetailView.as_view(),
        name="webhook-detail",
    ),
]
