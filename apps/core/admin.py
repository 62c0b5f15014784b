from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse

from .models import InstallationSettings


@admin.register(InstallationSettings)
class InstallationSettingsAdmin(admin.ModelAdmin):
    """A singleton: the list goes straight to the one object, which can be neither added twice nor deleted."""

    readonly_fields = ["updated_at"]
    fieldsets = (
        ("License", {"fields": ("license_plan",)}),
        ("Transfers", {"fields": ("transfers", "transfer_timeout")}),
        ("Attachments", {"fields": ("attachments_enabled", "attachment_max_bytes")}),
        ("Security Suite", {"fields": ("masking",), "description": "What agents see of customers' phone, email and name."}),
        (None, {"fields": ("updated_at",)}),
    )

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not InstallationSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        obj = InstallationSettings.load()
        return HttpResponseRedirect(reverse("admin:core_installationsettings_change", args=[obj.pk]))
