from django.urls import path

from limits.api import views
from verify_platform.lib.api import converters  # noqa: F401  (registers <sid:> and <text:>)

_RATE_LIMITS = "Services/<sid:service_sid>/RateLimits"

urlpatterns = [
    path(_RATE_LIMITS, views.RateLimitListView.as_view(), name="rate-limit-list"),
    path(
        f"{_RATE_LIMITS}/<sid:sid>", views.RateLimitDetailView.as_view(), name="rate-limit-detail"
    ),
    path(
        f"{_RATE_LIMITS}/<sid:rate_limit_sid>/Buckets",
        views.BucketListView.as_view(),
        name="bucket-list",
    ),
    path(
        f"{_RATE_LIMITS}/<sid:rate_limit_sid>/Buckets/<sid:sid>",
        views.BucketDetailView.as_view(),
        name="bucket-detail",
    ),
    path("SafeList/Numbers", views.SafeListListView.as_view(), name="safe-list-list"),
    path(
        "SafeList/Numbers/<text:phone_number>",
        views.SafeListDetailView.as_view(),
        name="safe-list-detail",
    ),
]
