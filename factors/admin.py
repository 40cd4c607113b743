"""Operator view of factors. The seed, the recovery-code hashes and a phone factor's full
number are never shown (only its masked form)."""

from __future__ import annotations

from django.contrib import admin, messages

from factors import domain
from factors.models import Factor
from verify_platform.lib.admin import clipped, clipped_column, seconds_column


@admin.display(description="entity", ordering="entity__identity")
def _entity(obj: Factor) -> str:
    return clipped(obj.entity)


_service = clipped_column("service")


@admin.display(description="type", ordering="factor_type")
def _type(obj: Factor) -> str:
    return obj.factor_type


@admin.display(description="status", ordering="status")
def _status(obj: Factor) -> str:
    """Locked (until an operator unlocks it) shows with the status."""
    return f"{obj.status}, locked" if obj.locked else obj.status


@admin.display(description="failures", ordering="consecutive_failures")
def _failures(obj: Factor) -> int:
    return obj.consecutive_failures


@admin.register(Factor)
class FactorAdmin(admin.ModelAdmin):
    list_display = (
        "sid",
        _type,
        _status,
        _entity,
        _service,
        seconds_column("date_last_used", "last used (UTC)"),
        _failures,
        seconds_column("date_created", "created (UTC)"),
    )
    list_filter = ("factor_type", "status", "locked")
    search_fields = ("sid", "entity__identity", "entity__sid", "service__sid")
    list_select_related = ("entity", "service")
    date_hierarchy = "date_created"
    # An explicit allow-list: `secret_encrypted` is never rendered, not even as ciphertext.
    fields = (
        "sid",
        "service",
        "entity",
        "factor_type",
        "status",
        "friendly_name",
        "phone_number_masked",
        "alg",
        "code_length",
        "time_step",
        "skew",
        "metadata",
        "date_last_used",
        "consecutive_failures",
        "next_check_at",
        "locked",
        "date_created",
        "date_updated",
    )
    readonly_fields = fields
    actions = ["unlock"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Unlock selected factors (forget their failed attempts)")
    def unlock(self, request, queryset):
        unlocked = sum(domain.factor_unlock(factor=f) for f in queryset)
        self.message_user(request, f"{unlocked} factor(s) unlocked.", messages.SUCCESS)
