"""Operator view of the tenants' rate limits (read-only: tenants manage them through the
API), of destinations throttled or blocked after failed checks, with the action that
clears them, and of the tenants' Safe Lists (added and removed through the domain)."""

from __future__ import annotations

import contextlib

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse

from limits import domain
from limits.models import Bucket, DestinationThrottle, RateLimit, SafeListNumber
from services.models import Account
from verify_platform.lib.admin import clipped_column, seconds_column
from verify_platform.lib.errors import NotFound, VerifyError

_service = clipped_column("service")


class BucketInline(admin.TabularInline):
    model = Bucket
    fields = ("sid", "max", "interval", "date_created", "date_updated")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RateLimit)
class RateLimitAdmin(admin.ModelAdmin):
    list_display = (
        "sid",
        "unique_name",
        _service,
        "bucket_count",
        seconds_column("date_created", "created (UTC)"),
    )
    search_fields = ("sid", "unique_name", "service__sid", "account__sid")
    list_select_related = ("service", "account")
    fields = (
        "sid",
        "account",
        "service",
        "unique_name",
        "description",
        "date_created",
        "date_updated",
    )
    readonly_fields = fields
    inlines = [BucketInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(bucket_total=Count("buckets"))

    @admin.display(description="buckets", ordering="bucket_total")
    def bucket_count(self, obj: RateLimit) -> int:
        return obj.bucket_total  # annotated: one query for the page, not one per row


@admin.register(DestinationThrottle)
class DestinationThrottleAdmin(admin.ModelAdmin):
    list_display = (
        "to",
        _service,
        "status",
        "consecutive_failures",
        seconds_column("next_attempt_at", "next attempt (UTC)"),
        seconds_column("last_failure_at", "last failure (UTC)"),
        seconds_column("date_blocked", "blocked (UTC)"),
        seconds_column("date_cleared", "cleared (UTC)"),
    )
    list_filter = ("status",)
    search_fields = ("to", "service__sid", "account__sid")
    list_select_related = ("service",)
    fields = (
        "account",
        "service",
        "to",
        "status",
        "consecutive_failures",
        "next_attempt_at",
        "last_failure_at",
        "date_blocked",
        "date_cleared",
        "date_created",
        "date_updated",
    )
    readonly_fields = fields
    actions = ["clear"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deleting a blocked row would unblock it without the `clear` record

    @admin.action(description="Clear selected destinations (unblock, forget failed checks)")
    def clear(self, request, queryset):
        cleared = sum(domain.destination_clear(throttle=t) for t in queryset)
        self.message_user(request, f"{cleared} destination(s) cleared.", messages.SUCCESS)


class SafeListNumberCreateForm(forms.Form):
    account = forms.ModelChoiceField(Account.objects.all())
    phone_number = forms.CharField(max_length=64, help_text="E.164, e.g. +14155550100")


@admin.register(SafeListNumber)
class SafeListNumberAdmin(admin.ModelAdmin):
    list_display = ("phone_number", "sid", "account", "date_created")
    search_fields = ("phone_number", "sid", "account__sid", "account__friendly_name")
    list_select_related = ("account",)
    fields = ("sid", "account", "phone_number", "date_created")
    readonly_fields = fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # an entry is added or removed, never edited

    def add_view(self, request, form_url="", extra_context=None):
        """The same rules as the API's create (E.164 normalisation, one entry per number)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SafeListNumberCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = domain.safe_list_number_create(**form.cleaned_data)
            except VerifyError as error:
                form.add_error("phone_number", error.message)
            else:
                self.log_addition(request, entry, [{"added": {}}])
                self.message_user(request, f"{entry} added to the Safe List.", messages.SUCCESS)
                return HttpResponseRedirect("../")
        context = {
            **self.admin_site.each_context(request),
            "title": "Add safe list number",
            "form": form,
            "submit_label": "Add",
        }
        return TemplateResponse(request, "admin/verify/form.html", context)

    def delete_model(self, request, obj: SafeListNumber) -> None:
        with contextlib.suppress(NotFound):  # removed meanwhile: what the operator asked for
            domain.safe_list_number_delete(account=obj.account, phone_number=obj.phone_number)

    def delete_queryset(self, request, queryset) -> None:
        for entry in queryset.select_related("account"):
            self.delete_model(request, entry)
