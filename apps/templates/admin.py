from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, linebreaks

from apps.accounts.models import WhatsAppAccount
from apps.core.exceptions import ServiceError

from . import services
from .models import Template


class TemplateForm(forms.ModelForm):
    class Meta:
        model = Template
        fields = "__all__"

    def clean(self):
        data = super().clean()
        account = data.get("account") or getattr(self.instance, "account", None)
        if account is not None and "status" in data:
            old = self.initial.get("status") if self.instance.pk else None
            try:
                services.template_approval_check(account=account, old_status=old, new_status=data["status"])
            except ServiceError as exc:
                raise ValidationError({"status": exc.detail}) from exc
        return data


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    list_display = ["name", "language", "account", "category", "status", "available_for_agents", "updated_at"]
    list_filter = ["status", "category", "available_for_agents", "account", "language"]
    search_fields = ["name", "body", "provider_template_id"]
    readonly_fields = ["preview", "synced_at", "updated_at"]
    actions = ["sync_accounts", "submit_for_approval"]
    change_list_template = "admin/wa_templates/template/change_list.html"
    fieldsets = (
        (None, {"fields": ("account", "name", "language", "category")}),
        (
            "Content",
            {
                "fields": ("header", "body", "footer", "buttons", "examples", "preview"),
                "description": "Parameters are written {{1}}, {{2}}, …; the preview fills them with the examples.",
            },
        ),
        ("Sending", {"fields": ("available_for_agents", "contact_params")}),
        ("Approval", {"fields": ("status", "rejection_reason", "provider_template_id", "synced_at", "updated_at")}),
    )

    @admin.display(description="Preview")
    def preview(self, obj: Template) -> str:
        if obj is None or not obj.pk:
            return "Save to see a preview."
        examples = [str(v) for v in obj.examples or []]
        text = obj.render(examples)
        return format_html(
            '<div class="wa-template-preview" style="max-width:28em;padding:.6em .8em;border-radius:8px;'
            'background:#dcf8c6;color:#111">{}{}{}</div>',
            format_html("<strong>{}</strong><br>", obj.header) if obj.header else "",
            format_html("{}", linebreaks(text)),
            format_html('<small style="color:#555">{}</small>', obj.footer) if obj.footer else "",
        )

    @admin.action(description="Sync templates from the provider (accounts of the selected templates)")
    def sync_accounts(self, request, queryset):
        accounts = {t.account_id: t.account for t in queryset.select_related("account")}
        self._sync(request, accounts.values())

    def _sync(self, request, accounts) -> None:
        for account in accounts:
            try:
                counts = services.template_sync(account=account)
            except ServiceError as exc:
                self.message_user(request, f"{account}: {exc.detail}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{account}: {counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged.",
                messages.SUCCESS,
            )

    def get_urls(self):
        own = [path("sync/", self.admin_site.admin_view(self.sync_view), name="wa_templates_template_sync")]
        return own + super().get_urls()

    def sync_view(self, request):
        """Sync one account's templates, also when it has none yet (an action needs selected rows)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        accounts = WhatsAppAccount.objects.filter(is_active=True, provider__in=services.SYNCABLE_PROVIDERS)
        if request.method == "POST":
            account = accounts.filter(pk=request.POST.get("account") or 0).first()
            if account is not None:
                self._sync(request, [account])
            return HttpResponseRedirect(reverse("admin:wa_templates_template_changelist"))
        context = {**self.admin_site.each_context(request), "accounts": accounts, "title": "Sync templates"}
        return TemplateResponse(request, "admin/wa_templates/template/sync.html", context)

    @admin.action(description="Submit the selected drafts for approval")
    def submit_for_approval(self, request, queryset):
        for template in queryset.select_related("account"):
            try:
                services.template_submit(template=template)
            except ServiceError as exc:
                self.message_user(request, f"{template}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{template}: submitted, now pending.", messages.SUCCESS)
