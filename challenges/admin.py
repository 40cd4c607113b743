"""Operator view of challenges and the events their transitions wrote, and of verifications
with a timeline of delivery attempts (cancel and resend through the domain). Codes are never
shown: only their keyed hash is stored, and it is not displayed either."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html_join

from challenges import domain
from challenges.errors import MaxSendAttemptsReached
from challenges.models import Challenge, DeliveryAttempt, Verification
from services.models import Event
from verify_platform.lib.admin import at_seconds, clipped, clipped_column, seconds_column
from verify_platform.lib.errors import NotFound

_created = seconds_column("date_created", "created (UTC)")


@admin.display(description="factor", ordering="factor")
def _factor(obj: Challenge) -> str:
    return clipped(obj.factor_id)


@admin.display(description="entity", ordering="entity__identity")
def _entity(obj: Challenge) -> str:
    return clipped(obj.entity)


_service = clipped_column("service")


@admin.display(description="sends", ordering="send_count")
def _sends(obj: Verification) -> int:
    return obj.send_count


@admin.display(description="to", ordering="to")
def _to(obj: Verification) -> str:
    return clipped(obj.to)


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin):
    list_display = (
        "sid",
        "status",
        _factor,
        _entity,
        "failed_attempts",
        seconds_column("expiration_date", "expires (UTC)"),
        seconds_column("date_responded", "responded (UTC)"),
        _created,
    )
    list_filter = ("status", "factor__factor_type", "responded_reason")
    search_fields = ("sid", "factor__sid", "entity__identity", "service__sid")
    list_select_related = ("entity",)
    date_hierarchy = "date_created"
    ordering = ("-date_created",)
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
        "delivery",
        "events",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Delivery (phone factors)")
    def delivery(self, obj: Challenge) -> str:
        """The timeline of a phone challenge's code, newest first: channel and outcome of
        each step (never the code, nor the number)."""
        rows = DeliveryAttempt.objects.filter(factor_code__challenge_id=obj.sid).order_by(
            "-date_created", "-send_number", "-step"
        )
        return (
            format_html_join(
                "\n",
                '<div class="timeline">step {} &middot; {} &middot; {} &middot; sent {} '
                "&middot; {}</div>",
                (
                    (
                        a.step,
                        a.channel,
                        a.status,
                        at_seconds(a.date_sent),
                        a.error_message or "",
                    )
                    for a in rows
                ),
            )
            or "-"
        )

    @admin.display(description="Events")
    def events(self, obj: Challenge) -> str:
        """Newest first, to the second."""
        rows = Event.objects.filter(resource_sid=obj.sid).order_by("-date_created", "-sid")
        return (
            format_html_join(
                "\n",
                '<div class="timeline">{} &middot; {} &middot; {}</div>',
                ((at_seconds(e.date_created), e.type, e.sid) for e in rows),
            )
            or "-"
        )


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = (
        "sid",
        "send_number",
        "step",
        "channel",
        "adapter",
        "status",
        "tries",
        "due",
        "sent",
        "provider_message_id",
        "error_code",
        "error_message",
        "updated",
    )
    readonly_fields = fields
    # The timeline newest first: the last send's last step on top.
    ordering = ("-date_created", "-send_number", "-step")
    extra = 0
    can_delete = False
    verbose_name = "delivery attempt"
    verbose_name_plural = "delivery timeline"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="due (UTC)")
    def due(self, obj: DeliveryAttempt) -> str:
        return at_seconds(obj.due_at)

    @admin.display(description="sent (UTC)")
    def sent(self, obj: DeliveryAttempt) -> str:
        return at_seconds(obj.date_sent)

    @admin.display(description="updated (UTC)")
    def updated(self, obj: DeliveryAttempt) -> str:
        return at_seconds(obj.date_updated)


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
    list_display = ("sid", _to, "channel", "status", _service, _sends, _created)
    list_filter = ("status", "channel")
    search_fields = ("sid", "to", "service__sid")
    list_select_related = ("service",)
    date_hierarchy = "date_created"
    ordering = ("-date_created",)
    fields = (
        "sid",
        "service",
        "to",
        "channel",
        "status",
        "plan",
        "locale",
        "custom_friendly_name",
        "custom_code",
        "app_hash",
        "amount",
        "payee",
        "options",
        "check_attempts",
        "send_count",
        "expires_at",
        "date_created",
        "date_updated",
    )
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
    actions = ["cancel", "resend"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Cancel selected verifications (stops pending deliveries)")
    def cancel(self, request, queryset):
        canceled = 0
        for verification in queryset.filter(status=Verification.Status.PENDING):
            try:
                domain.verification_cancel(verification=verification)
                canceled += 1
            except NotFound:
                pass
        self.message_user(request, f"{canceled} verification(s) canceled.", messages.SUCCESS)

    @admin.action(description="Resend the code of selected pending verifications")
    def resend(self, request, queryset):
        sent = failed = 0
        for verification in queryset.filter(status=Verification.Status.PENDING):
            try:
                ok = domain.verification_resend(verification=verification)
            except MaxSendAttemptsReached:
                ok = False
            sent += ok
            failed += not ok
        level = messages.SUCCESS if not failed else messages.WARNING
        self.message_user(request, f"{sent} resent, {failed} not resent.", level)
