from __future__ import annotations

from django.contrib import admin

from .models import CannedAnswer, Disposition, Queue


class DispositionInline(admin.TabularInline):
    model = Disposition
    extra = 1


class CannedAnswerInline(admin.StackedInline):
    model = CannedAnswer
    extra = 1


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "routing", "offer_timeout", "agent_count"]
    search_fields = ["name"]
    filter_horizontal = ["agents"]
    inlines = [DispositionInline, CannedAnswerInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("agents")

    @admin.display(description="Agents")
    def agent_count(self, obj: Queue) -> int:
        return len(obj.agents.all())
