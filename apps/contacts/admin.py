from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from apps.core.exceptions import ServiceError

from . import services
from .models import Contact, ContactAudit, ContactList, ContactListPermission, CustomField, Tag


class ContactListPermissionInline(admin.TabularInline):
    """B6: who may view this list (a user or a whole group); edit when checked."""

    model = ContactListPermission
    extra = 1
    autocomplete_fields = ["user", "group"]
    verbose_name_plural = "Permissions (users or groups who may view; edit when checked)"


class CustomFieldInline(admin.TabularInline):
    model = CustomField
    extra = 1


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "contact_count"]
    search_fields = ["name"]
    inlines = [ContactListPermissionInline, CustomFieldInline]

    @admin.display(description="Contacts")
    def contact_count(self, obj: ContactList) -> int:
        return obj.contacts.count()


class MergeForm(forms.Form):
    survivor = forms.ModelChoiceField(queryset=Contact.objects.none(), widget=forms.RadioSelect, label="Keep")

    def __init__(self, *args, contacts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survivor"].queryset = contacts


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "phone", "email", "company", "contact_list", "created_automatically", "updated_at"]
    list_filter = ["contact_list", "tags", "created_automatically"]
    search_fields = ["first_name", "last_name", "phone", "email", "company", "whatsapp_user_id"]
    filter_horizontal = ["tags", "editors"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["merge_selected"]

    @admin.action(description="Merge the selected contacts into one (choose the one to keep)")
    def merge_selected(self, request, queryset):
        """The same merge as the API's ``contacts/{id}/merge/``: the others' interactions, tags,
        notes and missing fields move into the kept contact, then the others are deleted (audited)."""
        if not self.has_change_permission(request) or not self.has_delete_permission(request):
            raise PermissionDenied
        contacts = queryset.order_by("id")
        if contacts.count() < 2:
            self.message_user(request, "Select at least two contacts to merge.", messages.WARNING)
            return None
        if "apply" in request.POST:
            form = MergeForm(request.POST, contacts=contacts)
            if form.is_valid():
                survivor = form.cleaned_data["survivor"]
                try:
                    for other in contacts.exclude(pk=survivor.pk):
                        services.contact_merge(user=None, contact_id=survivor.pk, other_id=other.pk)
                except ServiceError as exc:
                    self.message_user(request, exc.detail, messages.ERROR)
                    return None
                self.log_change(request, survivor, f"Merged contacts {[c.pk for c in contacts if c.pk != survivor.pk]}")
                self.message_user(request, f"Merged into {survivor}.", messages.SUCCESS)
                return None
        else:
            form = MergeForm(contacts=contacts, initial={"survivor": contacts.first()})
        return render(
            request,
            "admin/contacts/merge.html",
            {**self.admin_site.each_context(request), "title": "Merge contacts", "form": form, "contacts": contacts,
             "opts": self.model._meta, "action": "merge_selected"},
        )


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]


@admin.register(ContactAudit)
class ContactAuditAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "contact", "actor"]
    list_filter = ["kind"]
    readonly_fields = [f.name for f in ContactAudit._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
