from __future__ import annotations

from django.contrib import admin

from .models import Interaction, InteractionEvent, InteractionOffer, Message, Note


class ReadOnlyAdminMixin:
    """The conversation record is written by the services only: the admin shows it."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Message
    fields = ["created_at", "direction", "kind", "text", "attachment", "status", "error_code", "sender"]
    readonly_fields = fields
    extra = 0
    show_change_link = True


class NoteInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Note
    fields = ["created_at", "kind", "author", "text"]
    readonly_fields = fields
    extra = 0


class InteractionEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InteractionEvent
    fields = ["created_at", "kind", "actor", "data"]
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "History"


class InteractionOfferInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InteractionOffer
    fields = ["created_at", "agent", "status", "expires_at", "decided_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "customer_phone",
        "customer_name",
        "account",
        "queue",
        "status",
        "owner",
        "started_at",
        "last_message_at",
        "last_message_direction",
    ]
    list_filter = ["status", "account", "queue", "owner", "origin"]
    search_fields = ["customer_phone", "customer_name", "customer_user_id"]
    date_hierarchy = "started_at"
    list_select_related = ["account", "queue", "owner"]
    inlines = [MessageInline, NoteInline, InteractionEventInline, InteractionOfferInline]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "interaction", "direction", "kind", "status", "error_code", "created_at"]
    list_filter = ["direction", "kind", "status", "account"]
    search_fields = ["text", "provider_message_id", "interaction__customer_phone"]
    list_select_related = ["interaction"]
