from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.core.exceptions import ServiceError

from . import services
from .models import Campaign, CampaignRecipient
from .selectors import campaign_counters, prefetch_counters

FUNNEL = ("total", "sent", "delivered", "read", "replied", "failed", "pending", "skipped")


def progress_html(campaign: Campaign) -> str:
    """A progress bar and the funnel; the page's script keeps them live from ``campaign.progress``."""
    data = campaign_counters(campaign)
    done = data["total"] - data["pending"]
    percent = int(100 * done / data["total"]) if data["total"] else 0
    cells = format_html_join("", '<td data-counter="{}">{}</td>', ((name, data[name]) for name in FUNNEL))
    heads = format_html_join("", "<th>{}</th>", ((name.capitalize(),) for name in FUNNEL))
    return format_html(
        '<div class="campaign-progress" data-campaign="{}" data-api="{}">'
        '<div style="width:24em;height:1em;background:#eee;border-radius:4px;overflow:hidden">'
        '<div class="campaign-bar" style="width:{}%;height:100%;background:#25d366"></div></div>'
        '<span class="campaign-status">{}</span> · <span class="campaign-percent">{}</span>%'
        "<table><tr>{}</tr><tr>{}</tr></table></div>",
        campaign.pk,
        reverse("api:campaign-detail", kwargs={"pk": campaign.pk}),
        percent,
        campaign.status,
        percent,
        heads,
        cells,
    )


class CampaignChangeList(ChangeList):
    """The "Progress" column reads every funnel of the page in one grouped query, not one per row."""

    def get_results(self, request) -> None:
        super().get_results(request)
        self.result_list = prefetch_counters(self.result_list)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "template", "status", "progress", "scheduled_at", "created_at"]
    list_filter = ["status", "account"]
    search_fields = ["name"]
    readonly_fields = ["status", "progress", "recipients_export", "started_at", "finished_at", "created_at"]
    actions = ["launch", "pause", "resume", "cancel"]
    fields = [
        "name", "account", "template", "contact_list", "params", "scheduled_at", "rate_per_second",
        "status", "progress", "recipients_export", "started_at", "finished_at", "created_at",
    ]

    class Media:
        js = ["admin/campaign_progress.js"]

    def get_changelist(self, request, **kwargs):
        return CampaignChangeList

    @admin.display(description="Progress")
    def progress(self, obj: Campaign) -> str:
        return progress_html(obj) if obj and obj.pk else "-"

    @admin.display(description="Recipients")
    def recipients_export(self, obj: Campaign) -> str:
        if not obj or not obj.pk:
            return "-"
        changelist = reverse("admin:campaigns_campaignrecipient_changelist") + f"?campaign__id__exact={obj.pk}"
        csv_url = reverse("api:campaign-recipients-csv", kwargs={"pk": obj.pk})
        return format_html('<a href="{}">Per-recipient list</a> · <a href="{}">CSV export</a>', changelist, csv_url)

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        if change:
            obj = services.campaign_update(campaign_id=obj.pk, **fields)
        else:
            data = {name: form.cleaned_data.get(name) for name in services._EDITABLE if name in form.cleaned_data}
            created = services.campaign_create(user=request.user, **data)
            obj.pk = created.pk

    def _act(self, request, queryset, service, verb: str) -> None:
        for campaign in queryset:
            try:
                service(campaign_id=campaign.pk)
            except ServiceError as exc:
                self.message_user(request, f"{campaign}: {exc.detail} ({exc.code})", messages.ERROR)
            else:
                self.message_user(request, f"{campaign}: {verb}.", messages.SUCCESS)

    @admin.action(description="Launch the selected campaigns")
    def launch(self, request, queryset):
        self._act(request, queryset, services.campaign_launch, "launched")

    @admin.action(description="Pause the selected campaigns")
    def pause(self, request, queryset):
        self._act(request, queryset, services.campaign_pause, "paused")

    @admin.action(description="Resume the selected campaigns")
    def resume(self, request, queryset):
        self._act(request, queryset, services.campaign_resume, "resumed")

    @admin.action(description="Cancel the selected campaigns")
    def cancel(self, request, queryset):
        self._act(request, queryset, services.campaign_cancel, "cancelled")


@admin.register(CampaignRecipient)
class CampaignRecipientAdmin(admin.ModelAdmin):
    list_display = ["phone", "campaign", "status", "error_code", "error_message", "sent_at", "replied_at", "interaction"]
    list_filter = ["status", "campaign"]
    search_fields = ["phone"]
    list_select_related = ["campaign"]
    raw_id_fields = ["contact", "message", "interaction"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
