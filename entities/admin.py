from django.contrib import admin

from entities.models import Entity


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    list_display = ("identity", "sid", "service", "date_created")
    search_fields = ("identity", "sid", "service__sid")
    list_select_related = ("service",)
    readonly_fields = ("sid", "service", "identity", "date_created", "date_updated")
    date_hierarchy = "date_created"

    def has_add_permission(self, request) -> bool:
        return False
