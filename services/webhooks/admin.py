"""Operator console for webhooks and their delivery log. The signing secret is never shown:
it is excluded from every form and list. A webhook's page lists its recent deliveries and
can send it a test event (through the domain: delivered by the worker like any event)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.defaultfilters import truncatechars
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from services.models import Webhook, WebhookDelivery
from services.webhooks import delivery as delivery_domain
from services.webhooks import domain
from verify_platform.lib.admin import at_seconds, clipped, clipped_column, seconds_column

RECENT_DELIVERIES = 20
_created = seconds_column("date_created", "created (UTC)")


_service = clipped_column("service")


@admin.display(description="url", ordering="webhook_url")
def _url(obj: Webhook) -> str:
    return clipped(obj.webhook_url)


@admin.display(description="status", ordering="status")
def _status(obj: Webhook) -> str:
    """Switched off by its failure streak, or by a person."""
    return f"{obj.status} (auto)" if obj.auto_disabled else obj.status


@admin.display(description="failures", ordering="failure_streak")
def _streak(obj: Webhook) -> int:
    return obj.failure_streak


@admin.display(description="webhook", ordering="webhook")
def _webhook(obj: WebhookDelivery) -> str:
    return clipped(obj.webhook)


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = (
        "sid",
        "friendly_name",
        _service,
        _status,
        _streak,
        _url,
        _created,
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
        "recent_deliveries",
    )
    readonly_fields = fields
    actions = ["reenable", "disable"]

    def has_add_permission(self, request) -> bool:
        return False  # created through the API, which returns the secret once

    def get_urls(self):
        send_test = self.admin_site.admin_view(self.send_test_event_view)
        return [
            path(
                "<path:object_id>/send-test-event/",
                send_test,
                name="services_webhook_send_test",
            ),
            *super().get_urls(),
        ]

    def send_test_event_view(self, request, object_id: str):
        """POST only (the page's button): record a test event for this webhook."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        webhook = self.get_object(request, object_id)
        if webhook is None:
            raise Http404("No such webhook.")
        if not self.has_change_permission(request, webhook):
            raise PermissionDenied
        delivery = domain.webhook_send_test(webhook=webhook)
        if delivery is None:
            self.message_user(
                request,
                "The webhook is disabled: enable it first, a disabled webhook gets nothing.",
                messages.WARNING,
            )
        else:
            self.log_change(request, webhook, f"Sent a test event ({delivery.event_id}).")
            self.message_user(
                request,
                f"Test event {delivery.event_id} ({domain.TEST_EVENT_TYPE}) queued as delivery "
                f"{delivery.pk}: the worker sends it signed, like any event. Its outcome "
                "appears under Recent deliveries.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(
            reverse(
                "admin:services_webhook_change", args=[webhook.pk], current_app=self.admin_site.name
            )
        )

    @admin.display(description="Recent deliveries")
    def recent_deliveries(self, obj: Webhook) -> str:
        """The last deliveries, newest first, to the second; the full log is one link away."""
        if obj.pk is None:
            return "-"
        rows = (
            WebhookDelivery.objects.filter(webhook_id=obj.pk)
            .select_related("event")
            .order_by("-id")[:RECENT_DELIVERIES]
        )
        body = format_html_join(
            "",
            '<tr class="delivery"><td><a href="{}">{}</a></td><td>{}</td><td>{}</td>'
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    reverse("admin:services_webhookdelivery_change", args=[d.pk]),
                    d.pk,
                    at_seconds(d.date_created),
                    d.event.type,
                    d.status,
                    d.attempts,
                    d.last_status_code or "-",
                    truncatechars(d.last_error or d.last_response_body, 60) or "-",
                )
                for d in rows
            ),
        )
        if not body:
            return "None yet."
        return format_html(
            '<table class="recent-deliveries"><thead><tr><th>delivery</th><th>created (UTC)'
            "</th><th>event</th><th>status</th><th>attempts</th><th>HTTP</th><th>answer</th>"
            '</tr></thead><tbody>{}</tbody></table><p><a href="{}?webhook__exact={}">All '
            "deliveries of this webhook</a></p>",
            body,
            reverse("admin:services_webhookdelivery_changelist"),
            obj.pk,
        )

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
        _webhook,
        "status",
        "attempts",
        "last_status_code",
        "last_latency_ms",
        "next_retry",
        "response_excerpt",
        _created,
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

    @admin.display(description="next retry (UTC)", ordering="next_attempt_at")
    def next_retry(self, obj: WebhookDelivery) -> str:
        pending = obj.status == WebhookDelivery.Status.PENDING
        return at_seconds(obj.next_attempt_at if pending else None)

    @admin.display(description="response")
    def response_excerpt(self, obj: WebhookDelivery) -> str:
        return clipped(truncatechars(obj.last_response_body or obj.last_error, 80) or None)

    @admin.action(description="Replay selected deliveries (same event id)")
    def replay(self, request, queryset):
        replayed = sum(delivery_domain.delivery_replay(delivery=d) for d in queryset)
        self.message_user(request, f"{replayed} delivery(ies) queued again.", messages.SUCCESS)
