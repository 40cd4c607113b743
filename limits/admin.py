"""Operator view of the tenants' rate limits (read-only: tenants manage them through the
API) and of destinations throttled or blocked after failed checks, with the action that
clears them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count

from limits import domain
from limits.models import Bucket, DestinationThrottle, RateLimit


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
    list_display = ("sid", "unique_name", "service", "account", "bucket_count", "date_created")
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
        "service",
        "status",
        "consecutive_failures",
        "next_attempt_at",
        "last_failure_at",
        "date_blocked",
        "date_cleared",
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
