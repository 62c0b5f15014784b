"""Writes on WhatsApp accounts (PRODUCT.md B1). The REST API and the admin both call these."""
from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.core.exceptions import Invalid
from apps.core.phones import normalize_phone
from apps.providers.registry import backend_class
from apps.providers.types import CredentialsError

from .models import WhatsAppAccount

SECRET_MASK = "••••"

# Fields a caller may set besides name/provider/phone_number/credentials/api_base_url/queue.
EXTRA_FIELDS = ("recontact_template", "create_contacts", "contact_list", "is_active")


class AccountInvalid(Invalid):
    """An ``Invalid`` that names the bad fields: ``errors`` maps ``phone_number`` or
    ``credentials.<field>`` to a list of messages."""

    def __init__(self, code: str, detail: str, errors: dict[str, list[str]]) -> None:
        super().__init__(code, detail)
        self.errors = errors


def clean_phone_number(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except ValueError as exc:
        raise AccountInvalid("invalid_phone_number", str(exc), {"phone_number": [str(exc)]}) from exc


def _provider_class(provider: str):
    if provider not in WhatsAppAccount.Provider.values:
        raise AccountInvalid(
            "invalid_provider",
            f"Provider must be one of: {', '.join(WhatsAppAccount.Provider.values)}.",
            {"provider": ["Unknown provider."]},
        )
    try:
        return backend_class(provider)
    except (LookupError, ImportError) as exc:
        raise AccountInvalid("invalid_provider", f"No backend for {provider}.", {"provider": [str(exc)]}) from exc


def clean_credentials(*, provider: str, credentials: dict | None, stored: dict | None = None) -> dict:
    """Validate ``credentials`` for ``provider``; secrets sent empty or left out keep ``stored``.

    Secrets are write-only: clients never see them again, so they cannot send them back, and an
    empty secret in a form or a PATCH means "unchanged", never "erase".
    """
    if credentials is not None and not isinstance(credentials, dict):
        raise AccountInvalid("invalid_credentials", "Credentials must be an object.", {"credentials": ["Must be an object."]})
    cls = _provider_class(provider)
    stored = dict(stored or {})
    merged: dict[str, Any] = dict(stored)
    for key, value in (credentials or {}).items():
        merged[key] = value
    for name in cls.secret_fields():
        value = merged.get(name)
        if value is None or (isinstance(value, str) and not value.strip()) or value == mask_secret(stored.get(name, "")):
            if stored.get(name):
                merged[name] = stored[name]
            else:
                merged.pop(name, None)
    try:
        return cls.validate_credentials(merged)
    except CredentialsError as exc:
        errors = {f"credentials.{name}": [message] for name, message in exc.errors.items()}
        detail = "; ".join(f"{name}: {message}" for name, message in exc.errors.items())
        raise AccountInvalid("invalid_credentials", f"Invalid credentials: {detail}", errors) from exc


def _check_template(template, account: WhatsAppAccount | None) -> None:
    if template is not None and (account is None or template.account_id != account.pk):
        raise AccountInvalid(
            "invalid_recontact_template",
            "The recontact template must belong to this account.",
            {"recontact_template": ["The recontact template must belong to this account."]},
        )


def account_create(
    *,
    name: str,
    provider: str,
    phone_number: str,
    credentials: dict | None,
    api_base_url: str = "",
    queue,
    **extra: Any,
) -> WhatsAppAccount:
    unknown = set(extra) - set(EXTRA_FIELDS)
    if unknown:
        raise TypeError(f"account_create() got unexpected fields: {', '.join(sorted(unknown))}")
    if not (name or "").strip():
        raise AccountInvalid("invalid_name", "The account needs a name.", {"name": ["This field is required."]})
    phone = clean_phone_number(phone_number)
    cleaned = clean_credentials(provider=provider, credentials=credentials)
    _check_template(extra.get("recontact_template"), None)
    with transaction.atomic():
        return WhatsAppAccount.objects.create(
            name=name.strip(),
            provider=provider,
            phone_number=phone,
            credentials=cleaned,
            api_base_url=(api_base_url or "").strip(),
            queue=queue,
            **extra,
        )


def account_update(*, account: WhatsAppAccount, **fields: Any) -> WhatsAppAccount:
    allowed = {"name", "provider", "phone_number", "credentials", "api_base_url", "queue", *EXTRA_FIELDS}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"account_update() got unexpected fields: {', '.join(sorted(unknown))}")
    provider = fields.get("provider", account.provider)
    if "name" in fields:
        if not (fields["name"] or "").strip():
            raise AccountInvalid("invalid_name", "The account needs a name.", {"name": ["This field is required."]})
        fields["name"] = fields["name"].strip()
    if "phone_number" in fields:
        fields["phone_number"] = clean_phone_number(fields["phone_number"])
    if "credentials" in fields or provider != account.provider:
        # A new provider shares no secrets with the old one.
        stored = account.credentials if provider == account.provider else {}
        fields["credentials"] = clean_credentials(provider=provider, credentials=fields.get("credentials"), stored=stored)
    if "api_base_url" in fields:
        fields["api_base_url"] = (fields["api_base_url"] or "").strip()
    if "recontact_template" in fields:
        _check_template(fields["recontact_template"], account)
    with transaction.atomic():
        for key, value in fields.items():
            setattr(account, key, value)
        account.save()
    return account


def mask_secret(value: str) -> str:
    value = "" if value is None else str(value)
    if not value:
        return ""
    return SECRET_MASK + value[-4:] if len(value) > 8 else SECRET_MASK


def mask_credentials(provider: str, credentials: dict | None) -> dict:
    """Credentials safe to show: secrets as ``••••`` plus their last 4 characters."""
    try:
        secrets = backend_class(provider).secret_fields()
    except (LookupError, ImportError):
        # Unknown backend: show nothing rather than risk leaking a secret.
        return {key: mask_secret(value) for key, value in (credentials or {}).items()}
    return {key: (mask_secret(value) if key in secrets else value) for key, value in (credentials or {}).items()}
