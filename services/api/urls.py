from django.urls import path

from services.api import views
from verify_platform.lib.api import converters  # noqa: F401  (registers <sid:> and <text:>)

urlpatterns = [
    path("Services", views.ServiceListView.as_view(), name="service-list"),
    path("Services/<sid:sid>", views.ServiceDetailView.as_view(), name="service-detail"),
]
