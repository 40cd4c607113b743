"""Admin helpers: pages that create or replace a credential through the domain and show it
once; list columns that fit a 1280 px screen (datetimes to the second, long values clipped)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html


def at_seconds(value: datetime | None) -> str:
    """A datetime to the second in the site's zone (UTC), in a `<time>` element; "-" for
    none. The admin's default format stops at the minute, too coarse for a timeline."""
    if value is None:
        return "-"
    local = timezone.localtime(value)
    # Date and time may go on two lines in a narrow column, each whole.
    return format_html(
        '<time datetime="{}"><span>{}</span> <span>{}</span></time>',
        local.isoformat(),
        local.strftime("%Y-%m-%d"),
        local.strftime("%H:%M:%S"),
    )


def seconds_column(field: str, description: str | None = None) -> Callable[[Any], str]:
    """A list column (or read-only field) showing `field` to the second, sortable by it."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def column(obj: Any) -> str:
        return at_seconds(getattr(obj, field))

    column.__name__ = f"{field}_at_seconds"
    return column


def clipped(value: Any) -> str:
    """A long value on one line, cut by the stylesheet, whole in the tooltip."""
    text = "" if value is None else str(value)
    return format_html('<span class="clip" title="{}">{}</span>', text, text) if text else "-"


def clipped_column(field: str) -> Callable[[Any], str]:
    """A list column showing the related object or value `field` clipped, sortable by it
    (the service of a row, shown in every list that has one)."""

    @admin.display(description=field.replace("_", " "), ordering=field)
    def column(obj: Any) -> str:
        return clipped(getattr(obj, field))

    column.__name__ = f"{field}_clipped"
    return column


def create_and_show_secret(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    form_class: type[forms.Form],
    create: Callable[[dict], tuple[object, str]],
    secret_label: str,
    title: str,
) -> TemplateResponse:
    """Render `form_class`; on a valid POST call `create(cleaned_data) -> (obj, secret)` and
    render the secret in this response only, so it is never stored in a message cookie or
    the session."""
    form = form_class(request.POST or None)
    context = {**model_admin.admin_site.each_context(request), "title": title, "form": form}
    if request.method == "POST" and form.is_valid():
        obj, secret = create(form.cleaned_data)
        model_admin.log_addition(request, obj, [{"added": {}}])
        verbose_name = model_admin.model._meta.verbose_name.capitalize()
        return show_secret_once(
            model_admin,
            request,
            sid=obj.pk,
            secret=secret,
            secret_label=secret_label,
            title=f"{verbose_name} created",
            next_url=f"../{obj.pk}/change/",
        )
    return TemplateResponse(
        request, "admin/verify/form.html", {**context, "submit_label": "Create"}
    )


def show_secret_once(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    sid: str,
    secret: str,
    secret_label: str,
    title: str,
    next_url: str,
) -> TemplateResponse:
    """The one page that shows a new secret: rendered in this response only (never a message
    cookie or the session) and not cached."""
    response = TemplateResponse(
        request,
        "admin/verify/secret_once.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "sid": sid,
            "secret": secret,
            "secret_label": secret_label,
            "next_url": next_url,
        },
    )
    response["Cache-Control"] = "no-store"
    return response
