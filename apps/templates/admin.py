from __future__ import annotations

from django.contrib import admin

from .models import Template


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "account", "category", "status", "available_for_agents", "updated_at"]
    list_filter = ["status", "category", "available_for_agents", "account", "language"]
    search_fields = ["name", "body", "provider_template_id"]
    readonly_fields = ["updated_at"]
    fieldsets = (
        (None, {"fields": ("account", "name", "language", "category")}),
        ("Content", {"fields": ("header", "body", "footer"), "description": "Parameters are written {{1}}, {{2}}, …"}),
        ("Approval", {"fields": ("status", "rejection_reason", "provider_template_id", "available_for_agents", "updated_at")}),
    )
