"""Operator view of challenges and the events their transitions wrote."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join

from challenges.models import Challenge
from services.models import Event


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin):
    list_display = (
        "sid",
        "status",
        "factor",
        "entity",
        "failed_attempts",
        "expiration_date",
        "date_responded",
        "date_created",
    )
    list_filter = ("status", "factor__factor_type", "responded_reason")
    search_fields = ("sid", "factor__sid", "entity__identity", "service__sid")
    list_select_related = ("factor", "entity")
    date_hierarchy = "date_created"
    fields = (
        "sid",
        "service",
        "entity",
        "factor",
        "status",
        "responded_reason",
        "failed_attempts",
        "expiration_date",
        "date_responded",
        "details_message",
        "details_fields",
        "hidden_details",
        "metadata",
        "date_created",
        "date_updated",
        "events",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Events")
    def events(self, obj: Challenge) -> str:
        rows = Event.objects.filter(resource_sid=obj.sid).order_by("date_created", "sid")
        return (
            format_html_join(
                "\n",
                "<div>{} &middot; {} &middot; {}</div>",
                ((e.date_created, e.type, e.sid) for e in rows),
            )
            or "-"
        )
