"""The demo site's pages: the whole site is the `twostep` app."""

from django.urls import include, path

urlpatterns = [path("", include("twostep.urls"))]
