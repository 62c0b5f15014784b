from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from .models import SandboxMessage, WebhookEvent
from .services import webhook_event_reprocess


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    """Raw provider webhooks as received: inspect failures and reprocess them."""

    list_display = ["id", "provider", "account", "status", "received_at", "attempts", "duplicates", "short_error"]
    list_filter = ["status", "provider", "account"]
    search_fields = ["event_key", "error"]
    date_hierarchy = "received_at"
    list_select_related = ["account"]
    actions = ["reprocess"]
    fields = [
        "provider",
        "account",
        "event_key",
        "method",
        "status",
        "error",
        "attempts",
        "duplicates",
        "received_at",
        "processed_at",
        "query",
        "headers_pretty",
        "body_pretty",
    ]
    readonly_fields = fields

    @admin.display(description="Error")
    def short_error(self, obj: WebhookEvent) -> str:
        return (obj.error or "")[:80]

    @admin.display(description="Headers")
    def headers_pretty(self, obj: WebhookEvent) -> str:
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(obj.headers, indent=2, ensure_ascii=False))

    @admin.display(description="Body")
    def body_pretty(self, obj: WebhookEvent) -> str:
        text = obj.body_text
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", text)

    @admin.action(description="Reprocess selected events")
    def reprocess(self, request, queryset):
        count = webhook_event_reprocess(event_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} event(s) queued to be processed again.", messages.SUCCESS)


@admin.register(SandboxMessage)
class SandboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "customer_phone", "direction", "kind", "status", "created_at"]
    list_filter = ["direction", "status", "account"]
    search_fields = ["customer_phone", "text", "message_id"]
