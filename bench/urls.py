from django.urls import include, path

from bench.views import baseline

urlpatterns = [
    path("bench/baseline/<str:sid>", baseline),
    path("", include("verify_platform.urls")),
]
