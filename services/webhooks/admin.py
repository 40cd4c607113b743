"""Operator console for webhooks and their delivery log. The signing secret is never shown:
it is excluded from every form and list."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.defaultfilters import truncatechars

from services.models import Webhook, WebhookDelivery
from services.webhooks import delivery as delivery_domain
from services.webhooks import domain


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = (
        "sid",
        "friendly_name",
        "service",
        "status",
        "auto_disabled",
        "failure_streak",
        "webhook_url",
        "date_created",
    )
    list_filter = ("status", "auto_disabled", "version")
    search_fields = ("sid", "friendly_name", "webhook_url", "service__sid", "account__sid")
    list_select_related = ("service",)
    fields = (
        "sid",
        "account",
        "service",
        "friendly_name",
        "event_types",
        "webhook_url",
        "webhook_method",
        "version",
        "status",
        "auto_disabled",
        "disabled_reason",
        "date_disabled",
        "failure_streak",
        "failing_since",
        "date_created",
        "date_updated",
    )
    readonly_fields = fields
    actions = ["reenable", "disable"]

    def has_add_permission(self, request) -> bool:
        return False  # created through the API, which returns the secret once

    @admin.action(description="Enable selected webhooks (clears the failure streak)")
    def reenable(self, request, queryset):
        changed = sum(domain.webhook_enable(webhook=w) for w in queryset)
        self.message_user(request, f"{changed} webhook(s) enabled.", messages.SUCCESS)

    @admin.action(description="Disable selected webhooks")
    def disable(self, request, queryset):
        changed = sum(
            domain.webhook_disable(webhook=w, reason="disabled by an operator") for w in queryset
        )
        self.message_user(request, f"{changed} webhook(s) disabled.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "event_type",
        "webhook",
        "status",
        "attempts",
        "last_status_code",
        "last_latency_ms",
        "next_retry",
        "response_excerpt",
        "date_created",
    )
    list_filter = ("status", "event__type", "last_status_code", "webhook__auto_disabled")
    search_fields = ("event__sid", "resource_sid", "webhook__sid", "webhook__webhook_url")
    list_select_related = ("event", "webhook")
    date_hierarchy = "date_created"
    readonly_fields = (
        "webhook",
        "event",
        "resource_sid",
        "status",
        "attempts",
        "next_attempt_at",
        "lease_expires_at",
        "window_started_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "last_latency_ms",
        "last_response_body",
        "date_created",
        "date_updated",
        "date_completed",
    )
    fields = readonly_fields
    actions = ["replay"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="event", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="next retry", ordering="next_attempt_at")
    def next_retry(self, obj: WebhookDelivery):
        return obj.next_attempt_at if obj.status == WebhookDelivery.Status.PENDING else None

    @admin.display(description="response")
    def response_excerpt(self, obj: WebhookDelivery) -> str:
        return truncatechars(obj.last_response_body or obj.last_error, 80)

    @admin.action(description="Replay selected deliveries (same event id)")
    def replay(self, request, queryset):
        replayed = sum(delivery_domain.delivery_replay(delivery=d) for d in queryset)
        self.message_user(request, f"{replayed} delivery(ies) queued again.", messages.SUCCESS)
