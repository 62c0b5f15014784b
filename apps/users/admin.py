from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from apps.contacts.models import ContactListPermission
from apps.queues.models import Queue

from .models import User


class QueueMembershipInline(admin.TabularInline):
    model = Queue.agents.through
    extra = 0
    verbose_name = "queue membership"
    verbose_name_plural = "Queues"
    autocomplete_fields = ["queue"]


class ContactListPermissionInline(admin.TabularInline):
    model = ContactListPermission
    extra = 0
    verbose_name_plural = "Contact list permissions (view; edit when checked)"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "presence", "is_active", "last_login"]
    list_filter = ["role", "presence", "is_active", "queues"]
    search_fields = ["username", "first_name", "last_name", "email"]
    readonly_fields = ["presence_changed_at", "last_login", "date_joined"]
    inlines = [QueueMembershipInline, ContactListPermissionInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Role and presence", {"fields": ("role", "presence", "presence_changed_at")}),
        (
            "Django permissions",
            {"classes": ("collapse",), "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"classes": ("collapse",), "fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "role", "password1", "password2")}),
    )
