"""WhatsApp accounts in the admin (B1): one form field per provider credential, saved through the
account services so the admin and the REST API validate the same way."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from apps.core.exceptions import ServiceError
from apps.providers.registry import backend_class

from . import services
from .models import WhatsAppAccount

MODEL_FIELDS = [
    "name",
    "provider",
    "phone_number",
    "api_base_url",
    "queue",
    "recontact_template",
    "create_contacts",
    "contact_list",
    "is_active",
]


def credential_field_name(provider: str, name: str) -> str:
    return f"credentials_{provider}_{name}"


def provider_credential_fields() -> list[tuple[str, str, tuple]]:
    """``(provider, label, credential_fields)`` for every provider whose backend can be loaded."""
    result = []
    for provider, label in WhatsAppAccount.Provider.choices:
        try:
            cls = backend_class(provider)
        except (LookupError, ImportError):
            continue
        result.append((provider, label, tuple(cls.credential_fields)))
    return result


class HttpsURLField(forms.URLField):
    """Provider APIs are https: a scheme-less URL means https (Django 6's default, set now)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class WhatsAppAccountFormBase(forms.ModelForm):
    class Meta:
        model = WhatsAppAccount
        fields = MODEL_FIELDS
        field_classes = {"api_base_url": HttpsURLField}
        widgets = {"phone_number": forms.TextInput(attrs={"placeholder": "+15550001111"})}

    # Filled in by build_account_form(): (provider, credential name) -> form field name.
    credential_map: dict[tuple[str, str], str] = {}
    secret_names: set[tuple[str, str]] = set()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone_number"].max_length = 64
        self.fields["phone_number"].help_text = "International format, e.g. +1 555 000 1111. Saved as E.164."
        stored = (self.instance.credentials or {}) if self.instance.pk else {}
        template_field = self.fields.get("recontact_template")
        if template_field is not None:
            # Only this account's own templates can recontact its customers.
            template_field.queryset = template_field.queryset.filter(account_id=self.instance.pk or 0)
        for (provider, name), field_name in self.credential_map.items():
            if self.instance.pk and provider == self.instance.provider:
                if (provider, name) in self.secret_names:
                    if stored.get(name):
                        self.fields[field_name].help_text = (
                            f"Stored ({services.mask_secret(stored[name])}). Leave empty to keep it."
                        )
                else:
                    self.fields[field_name].initial = stored.get(name, "")

    def credentials_for(self, provider: str) -> dict:
        return {
            name: (self.cleaned_data.get(field_name) or "")
            for (p, name), field_name in self.credential_map.items()
            if p == provider
        }

    def clean(self):
        cleaned = super().clean()
        provider = cleaned.get("provider")
        phone = cleaned.get("phone_number")
        if phone:
            try:
                cleaned["phone_number"] = services.clean_phone_number(phone)
            except ServiceError as exc:
                self.add_error("phone_number", exc.detail)
        if provider:
            stored = self.instance.credentials if self.instance.pk and self.instance.provider == provider else {}
            try:
                self.cleaned_credentials = services.clean_credentials(
                    provider=provider, credentials=self.credentials_for(provider), stored=stored
                )
            except ServiceError as exc:
                for key, messages in (getattr(exc, "errors", None) or {}).items():
                    name = key.split(".", 1)[-1]
                    field_name = self.credential_map.get((provider, name))
                    for message in messages:
                        if field_name:
                            self.add_error(field_name, message)
                        else:
                            self.add_error(None, f"{name}: {message}")
                if not getattr(exc, "errors", None):
                    self.add_error(None, exc.detail)
        return cleaned


def build_account_form() -> type[WhatsAppAccountFormBase]:
    """The form class with one declared field per (provider, credential); built per request because
    provider backends load lazily."""
    declared: dict[str, forms.Field] = {}
    credential_map: dict[tuple[str, str], str] = {}
    secret_names: set[tuple[str, str]] = set()
    for provider, _label, fields in provider_credential_fields():
        for f in fields:
            field_name = credential_field_name(provider, f.name)
            label = f.name.replace("_", " ").capitalize()
            help_text = f.help or ""
            if f.default:
                help_text = f"{help_text} Default: {f.default}.".strip()
            if f.secret:
                secret_names.add((provider, f.name))
                field: forms.Field = forms.CharField(
                    label=label,
                    required=False,
                    strip=True,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                    help_text=(help_text + " Write-only: leave empty to keep the stored value.").strip(),
                )
            elif f.choices:
                field = forms.ChoiceField(
                    label=label, required=False, choices=[("", "---------"), *[(c, c) for c in f.choices]], help_text=help_text
                )
            else:
                field = forms.CharField(label=label, required=False, help_text=help_text)
            declared[field_name] = field
            credential_map[(provider, f.name)] = field_name
    attrs = {**declared, "credential_map": credential_map, "secret_names": secret_names}
    return type("WhatsAppAccountForm", (WhatsAppAccountFormBase,), attrs)


@admin.register(WhatsAppAccount)
class WhatsAppAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "phone_number", "queue", "is_active", "webhook_url_text"]
    list_filter = ["provider", "is_active", "queue"]
    search_fields = ["name", "phone_number"]
    readonly_fields = ["webhook_url_display", "created_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = build_account_form()
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["name", "provider", "phone_number", "queue", "is_active"]}),
            (
                "Webhook",
                {
                    "fields": ["webhook_url_display"],
                    "description": "Paste this URL in the provider's console. Providers other than the "
                    "Sandbox need it public, over HTTPS.",
                },
            ),
            ("Contacts and recontact", {"fields": ["recontact_template", "create_contacts", "contact_list"]}),
        ]
        for provider, label, fields in provider_credential_fields():
            if not fields:
                continue
            selected = obj is not None and obj.provider == provider
            fieldsets.append(
                (
                    f"{label} credentials",
                    {
                        "fields": [credential_field_name(provider, f.name) for f in fields],
                        "classes": [] if obj is None or selected else ["collapse"],
                        "description": "Only the fields of the selected provider are used.",
                    },
                )
            )
        fieldsets.append(("Advanced", {"fields": ["api_base_url", "created_at"], "classes": ["collapse"]}))
        return fieldsets

    @admin.display(description="Webhook URL")
    def webhook_url_display(self, obj: WhatsAppAccount | None) -> str:
        if obj is None or not obj.pk:
            return "Shown once the account is saved."
        return format_html(
            '<input type="text" readonly value="{}" size="90" onclick="this.select()" '
            'style="font-family: monospace" aria-label="Webhook URL">',
            obj.webhook_url,
        )

    @admin.display(description="Webhook URL")
    def webhook_url_text(self, obj: WhatsAppAccount) -> str:
        return format_html("<code>{}</code>", obj.webhook_url)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name) for name in MODEL_FIELDS if name in form.cleaned_data}
        credentials = form.credentials_for(data["provider"])
        if change:
            account = WhatsAppAccount.objects.get(pk=obj.pk)
            account = services.account_update(account=account, credentials=credentials, **data)
        else:
            account = services.account_create(
                name=data.pop("name"),
                provider=data.pop("provider"),
                phone_number=data.pop("phone_number"),
                credentials=credentials,
                api_base_url=data.pop("api_base_url", "") or "",
                queue=data.pop("queue"),
                **data,
            )
        # The admin goes on with ``obj`` (log entry, redirect): make it the saved row.
        obj.pk = account.pk
        obj._state.adding = False
        for field in WhatsAppAccount._meta.concrete_fields:
            setattr(obj, field.attname, getattr(account, field.attname))
