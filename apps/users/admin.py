from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core.exceptions import Conflict

from apps.contacts.models import ContactListPermission
from apps.queues.models import Queue

from .models import User
from .services import admins_keep_check, is_last_admin, user_admin_change_check, user_delete


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


class AdminKeepingChangeForm(UserChangeForm):
    """Refuses, as a form error, an edit that would leave no active administrator (or demote oneself)."""

    actor: User | None = None  # set per request by UserAdmin.get_form

    def clean(self):
        cleaned = super().clean()
        original = User.objects.filter(pk=self.instance.pk).first()
        if original is not None:
            changes = {key: cleaned[key] for key in ("role", "is_active", "is_superuser") if key in cleaned}
            try:
                # The check locks the admins' rows; the save, in the admin's own transaction, checks again.
                with transaction.atomic():
                    user_admin_change_check(user=original, changes=changes, actor=self.actor)
            except Conflict as exc:
                raise ValidationError(exc.detail, code=exc.code) from exc
        return cleaned


@admin.action(description="Delete selected users", permissions=["delete"])
def delete_selected_users(modeladmin, request, queryset):
    """Django's bulk delete, refused up front when it would take the last administrator."""
    try:
        with transaction.atomic():
            admins_keep_check(losing=list(queryset), actor=request.user)
    except Conflict as exc:
        modeladmin.message_user(request, exc.detail, messages.ERROR)
        return None
    return django_delete_selected(modeladmin, request, queryset)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = AdminKeepingChangeForm
    actions = [delete_selected_users]
    list_display = ["username", "first_name", "last_name", "role", "presence", "is_active", "last_login"]
    list_filter = ["role", "presence", "is_active", "queues"]
    search_fields = ["username", "first_name", "last_name", "email"]
    readonly_fields = ["presence_changed_at", "last_login", "date_joined"]
    inlines = [QueueMembershipInline, ContactListPermissionInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Role and presence", {"fields": ("role", "presence", "presence_changed_at")}),
        # X1 capacity and the transcript permission (D10, S3).
        ("Supervision", {"fields": ("max_open_interactions", "transcripts_permission")}),
        (
            "Django permissions",
            {"classes": ("collapse",), "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"classes": ("collapse",), "fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "role", "password1", "password2")}),
    )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user  # get_form builds a new class per request
        return form

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # replaced by delete_selected_users
        return actions

    def save_model(self, request, obj, form, change):
        if change:
            original = User.objects.get(pk=obj.pk)
            user_admin_change_check(
                user=original,
                changes={"role": obj.role, "is_active": obj.is_active, "is_superuser": obj.is_superuser},
                actor=request.user,
            )
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        # The delete link disappears from one's own page and from the last administrator's.
        if obj is not None and (obj.pk == request.user.pk or is_last_admin(obj)):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        user_delete(users=[obj], actor=request.user)

    def delete_queryset(self, request, queryset):
        user_delete(users=list(queryset), actor=request.user)

