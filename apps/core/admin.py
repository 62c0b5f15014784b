from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse

from .masking import publish_masking_change
from .models import InstallationSettings, Job
from .work import retry_failed


@admin.register(InstallationSettings)
class InstallationSettingsAdmin(admin.ModelAdmin):
    """A singleton: the list goes straight to the one object, which can be neither added twice nor deleted."""

    readonly_fields = ["updated_at"]
    fieldsets = (
        ("License", {"fields": ("license_plan",)}),
        ("Transfers", {"fields": ("transfers", "transfer_timeout")}),
        ("Attachments", {"fields": ("attachments_enabled", "attachment_max_bytes")}),
        ("Phone numbers", {"fields": ("default_region",)}),
        ("Security Suite", {"fields": ("masking",), "description": "What agents see of customers' phone, email and name."}),
        (None, {"fields": ("updated_at",)}),
    )

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not InstallationSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        old = InstallationSettings.objects.filter(pk=obj.pk).values_list("masking", flat=True).first() or "none"
        super().save_model(request, obj, form, change)
        publish_masking_change(old, obj.masking)

    def changelist_view(self, request, extra_context=None):
        obj = InstallationSettings.load()
        return HttpResponseRedirect(reverse("admin:core_installationsettings_change", args=[obj.pk]))


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Deferred work in flight and the work that failed for good, with a retry action (X3)."""

    list_display = ["id", "kind", "key", "state", "attempts", "next_attempt_at", "short_error", "created_at"]
    list_filter = ["state", "kind"]
    search_fields = ["key", "last_error"]
    readonly_fields = [f.name for f in Job._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Last error")
    def short_error(self, obj: Job) -> str:
        return obj.last_error[:120]

    @admin.action(description="Retry the selected failed work now")
    def retry(self, request, queryset):
        from django.contrib import messages

        count = retry_failed(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed job(s) put back to run now.", messages.SUCCESS)
