"""Admin helpers: pages that create a credential through the domain and show it once."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse


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
        opts = model_admin.model._meta
        change_url = f"../{obj.pk}/change/"
        model_admin.log_addition(request, obj, [{"added": {}}])
        response = TemplateResponse(
            request,
            "admin/verify/secret_once.html",
            {
                **context,
                "title": f"{opts.verbose_name.capitalize()} created",
                "sid": obj.pk,
                "secret": secret,
                "secret_label": secret_label,
                "next_url": change_url,
            },
        )
        response["Cache-Control"] = "no-store"
        return response
    return TemplateResponse(
        request, "admin/verify/form.html", {**context, "submit_label": "Create"}
    )
