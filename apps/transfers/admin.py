from __future__ import annotations

from django.contrib import admin

from .models import Transfer


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = ["id", "interaction", "from_agent", "to_agent", "to_queue", "status", "created_at", "expires_at", "accepted_by"]
    list_filter = ["status", "to_queue"]
    list_select_related = ["interaction", "from_agent", "to_agent", "to_queue", "accepted_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
