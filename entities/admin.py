from django.contrib import admin

from entities.models import Entity
from verify_platform.lib.admin import clipped_column, seconds_column

_service = clipped_column("service")


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    list_display = ("identity", "sid", _service, seconds_column("date_created", "created (UTC)"))
    search_fields = ("identity", "sid", "service__sid")
    list_select_related = ("service",)
    readonly_fields = ("sid", "service", "identity", "date_created", "date_updated")
    date_hierarchy = "date_created"

    def has_add_permission(self, request) -> bool:
        return False
