from __future__ import annotations

from django.contrib import admin

from .models import Contact, ContactList, ContactListPermission, CustomField, Tag


class ContactListPermissionInline(admin.TabularInline):
    model = ContactListPermission
    extra = 1
    autocomplete_fields = ["user"]
    verbose_name_plural = "Permissions (users who may view; edit when checked)"


class CustomFieldInline(admin.TabularInline):
    model = CustomField
    extra = 1


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name"]
    inlines = [ContactListPermissionInline, CustomFieldInline]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "phone", "email", "company", "contact_list", "created_automatically", "updated_at"]
    list_filter = ["contact_list", "tags", "created_automatically"]
    search_fields = ["first_name", "last_name", "phone", "email", "company", "whatsapp_user_id"]
    filter_horizontal = ["tags", "editors"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]
