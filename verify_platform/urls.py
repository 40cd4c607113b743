from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from verify_platform import health
from verify_platform.lib.api.views import not_found

v2 = [
    path("", include("services.api.urls")),
    path("", include("services.webhooks.api.urls")),
    path("", include("factors.api.urls")),
    path("", include("challenges.api.urls")),
    path("", include("limits.api.urls")),
    re_path(r"^.*$", not_found),
]

urlpatterns = [
    path("v2/", include(v2)),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("channels/", include("channels.urls")),
]
