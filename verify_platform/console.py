"""The operator console's frame: the admin's name, its home (the dashboard) and the public
page at `/` that points to the docs, the console and the health probes.

Django's default admin site is configured here through its documented attributes
(`site_header`, `site_title`, `index_title`, `site_url`) rather than replaced, so every app's
`@admin.register` keeps registering on it; the URL configuration puts `dashboard_index` in
front of the site's own index, and that view renders the site's index with the dashboard in
its context (`AdminSite.index(request, extra_context)`).
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.template.response import TemplateResponse

from verify_platform import dashboard

SITE_NAME = "Verify Platform"


def brand(site: AdminSite) -> None:
    site.site_header = SITE_NAME
    site.site_title = SITE_NAME
    site.index_title = "Dashboard"
    site.site_url = "/"  # "View site": the home page below


def _days(request: HttpRequest) -> int:
    raw = request.GET.get("days", "")
    return int(raw) if raw.isdigit() and int(raw) in dashboard.WINDOWS else dashboard.DEFAULT_DAYS


def dashboard_index(site: AdminSite):
    """The site's index view with the dashboard; wrap it with `site.admin_view`."""

    def index(request: HttpRequest) -> TemplateResponse:
        context = {"dashboard": dashboard.build(request.user, days=_days(request))}
        return site.index(request, extra_context=context)

    return index


def home(request: HttpRequest) -> TemplateResponse:
    """`/`: what this server is and where to go. Public, and reads no database."""
    return TemplateResponse(
        request,
        "verify_platform/home.html",
        {"site_name": SITE_NAME, "base_url": request.build_absolute_uri("/").rstrip("/")},
    )
