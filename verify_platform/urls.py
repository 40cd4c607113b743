from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from verify_platform import console, health
from verify_platform.lib.api.views import not_found
from verify_platform.metrics.views import metrics_view

v2 = [
    path("", include("services.api.urls")),
    path("", include("services.webhooks.api.urls")),
    path("", include("factors.api.urls")),
    path("", include("challenges.api.urls")),
    path("", include("limits.api.urls")),
    re_path(r"^.*$", not_found),
]

console.brand(admin.site)

urlpatterns = [
    path("", console.home, name="home"),
    path("v2/", include(v2)),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    # The console's home is the dashboard; every other admin page is the site's own.
    path("admin/", admin.site.admin_view(console.dashboard_index(admin.site)), name="dashboard"),
    path("admin/", admin.site.urls),
    path("channels/", include("channels.urls")),
]
