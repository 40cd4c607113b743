from django.urls import path

from services.api import messaging_views, template_views, views
from verify_platform.lib.api import converters  # noqa: F401  (registers <sid:> and <text:>)

urlpatterns = [
    path("Services", views.ServiceListView.as_view(), name="service-list"),
    path("Services/<sid:sid>", views.ServiceDetailView.as_view(), name="service-detail"),
    path(
        "Services/<sid:service_sid>/MessagingConfigurations",
        messaging_views.MessagingConfigurationListView.as_view(),
        name="messaging-configuration-list",
    ),
    path(
        "Services/<sid:service_sid>/MessagingConfigurations/<text:country>",
        messaging_views.MessagingConfigurationDetailView.as_view(),
        name="messaging-configuration-detail",
    ),
    path("Templates", template_views.TemplateListView.as_view(), name="template-list"),
]
