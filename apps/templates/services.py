"""Use cases of templates (B3): approval in sync with the provider, the rules of sending, previews.

The provider owns a template's approval. Its status arrives by webhook (Meta's
``message_template_status_update``, Kaleyra's template callback) or by pulling the provider's list
(``template_sync``: the admin action, ``POST templates/sync/`` and a sweep every 15 minutes). Only
the Sandbox, which has no provider behind it, lets an admin approve a template by hand.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.core import work
from apps.core.exceptions import Conflict, Invalid
from apps.core.masking import MASKERS, NONE as MASK_NONE
from apps.providers.types import ProviderError, TemplateDraft, TemplateStatus

from .models import Template, TemplateSync, contact_field_value, substitute

log = logging.getLogger(__name__)

_STATUSES = {s.value for s in Template.Status}
SYNC_WORK = "templates.sync"
SYNC_EVERY = timedelta(minutes=15)
# Providers whose template list Instant can read (PROTOCOLS.md §1e, §2e, §4e).
SYNCABLE_PROVIDERS = ("meta", "kaleyra", "twilio")
# Meta documents submission (§1e); Kaleyra's is in its developer docs (cited in
# KaleyraBackend.submit_template). Twilio's Content approvals are not implemented: its templates
# are created in the console and synced.
SUBMITTABLE_PROVIDERS = ("meta", "kaleyra")
SEND_REFUSALS = {
    Template.Status.DRAFT: "it has not been submitted for approval yet",
    Template.Status.PENDING: "it is still waiting for the provider's approval",
    Template.Status.REJECTED: "the provider rejected it",
    Template.Status.PAUSED: "the provider paused it for its quality rating",
    Template.Status.DISABLED: "the provider disabled it",
}


def template_sendable_check(template: Template) -> None:
    """Only approved templates are sent; any other is refused with the provider's reason (B3)."""
    if template.status == Template.Status.APPROVED:
        return
    reason = SEND_REFUSALS.get(template.status, "it is not approved")
    if template.rejection_reason:
        reason += f" ({template.rejection_reason})"
    raise Conflict("template_not_approved", f"The template {template.name!r} cannot be sent: {reason}.")


def template_params_check(template: Template, params: list) -> list[str]:
    """The body's parameters, one per ``{{n}}``: a count mismatch is refused before anything is sent."""
    if not isinstance(params, list):
        raise Invalid("wrong_param_count", "Parameters are a list, one value per {{n}}.")
    values = ["" if p is None else str(p) for p in params]
    if len(values) != template.param_count:
        raise Invalid(
            "wrong_param_count",
            f"The template {template.name!r} takes {template.param_count} parameter(s); {len(values)} given.",
        )
    if any(not v.strip() for v in values):
        # WhatsApp refuses empty parameter values (Meta 131008 "Required parameter is missing").
        raise Invalid("empty_param", "Every template parameter needs a value.")
    return values


def template_render(*, template: Template, params: list) -> dict[str, str]:
    values = template_params_check(template, params)
    return {"text": template.render(values), "header": template.header, "footer": template.footer}


# Contact fields that are customer data under masking (B5), and how each is masked.
_MASKED_PARAMS = {"phone": "phone", "email": "email", "first_name": "name", "last_name": "name", "full_name": "name"}


def template_render_for_contact(*, template: Template, contact, fallback_name: str = "", masking: str = "none") -> dict:
    """The template filled from a contact by its mapping (D7's recontact), as the desktop previews it.

    The same ``params_for_contact`` the recontact send uses, so the preview is what goes out. A
    parameter the contact lacks stays ``{{n}}`` in the text and is listed in ``missing``: the send
    would be refused (``recontact_params_missing``), and the agent sees why beforehand. For a masked
    viewer (``masking``), parameters taken from the phone, email or name are shown masked.
    """
    params = template.params_for_contact(contact, fallback_name=fallback_name)
    if masking != MASK_NONE:
        mapping = list(template.contact_params or [])
        for n, value in enumerate(params):
            spec = mapping[n] if n < len(mapping) else {"field": "first_name"}
            kind = _MASKED_PARAMS.get(str(spec.get("field") or "")) if isinstance(spec, dict) else None
            if kind and value.strip():
                params[n] = MASKERS[kind](value, masking)
    missing = [n for n, value in enumerate(params, 1) if not value.strip()]
    shown = [value if value.strip() else f"{{{{{n}}}}}" for n, value in enumerate(params, 1)]
    return {
        "text": template.render(shown), "header": template.header, "footer": template.footer,
        "params": params, "missing": missing,
    }


def params_mapping_check(template: Template, mapping: list) -> None:
    """A mapping of parameters (campaigns, recontact) has exactly one valid entry per ``{{n}}``."""
    if not isinstance(mapping, list) or len(mapping) != template.param_count:
        count = len(mapping) if isinstance(mapping, list) else 0
        raise Invalid(
            "wrong_param_count",
            f"The template {template.name!r} takes {template.param_count} parameter(s); the mapping has {count}.",
        )
    for spec in mapping:
        if not isinstance(spec, dict) or not (("value" in spec) ^ ("field" in spec)):
            raise Invalid("bad_param_mapping", 'Each parameter is {"field": "<contact field>"} or {"value": "<text>"}.')


# ----- approval ---------------------------------------------------------------------------------
def template_approval_check(*, account: WhatsAppAccount, old_status: str | None, new_status: str) -> None:
    """An admin cannot approve a provider's template by hand; the Sandbox has no provider to ask."""
    if account.provider == WhatsAppAccount.Provider.SANDBOX:
        return
    if new_status != (old_status or Template.Status.DRAFT) and new_status != Template.Status.DRAFT:
        raise Invalid(
            "status_from_provider",
            f"{account.get_provider_display()} decides a template's status: submit it, then sync.",
        )


_EDITABLE = ("name", "language", "category", "header", "body", "footer", "buttons", "examples", "contact_params",
             "status", "rejection_reason", "available_for_agents", "provider_template_id")


def _template_fields_check(template: Template) -> None:
    if not (template.body or "").strip():
        raise Invalid("empty_body", "A template needs a body.")
    if template.contact_params:
        params_mapping_check(template, list(template.contact_params))


def template_create(*, account: WhatsAppAccount, **fields) -> Template:
    """An admin's template (a draft, unless the Sandbox lets it be approved at once)."""
    fields = {k: v for k, v in fields.items() if k in _EDITABLE}
    template_approval_check(account=account, old_status=None, new_status=fields.get("status", Template.Status.DRAFT))
    template = Template(account=account, **fields)
    _template_fields_check(template)
    with transaction.atomic():
        if Template.objects.filter(account=account, name=template.name, language=template.language).exists():
            raise Conflict("template_exists", "This account already has a template with that name and language.")
        template.save()
    return template


def template_update(*, template: Template, **fields) -> Template:
    with transaction.atomic():
        locked = Template.objects.select_for_update().select_related("account").get(pk=template.pk)
        if "status" in fields:
            template_approval_check(account=locked.account, old_status=locked.status, new_status=fields["status"])
        for name, value in fields.items():
            if name in _EDITABLE:
                setattr(locked, name, value)
        _template_fields_check(locked)
        if Template.objects.filter(account=locked.account, name=locked.name, language=locked.language).exclude(pk=locked.pk).exists():
            raise Conflict("template_exists", "This account already has a template with that name and language.")
        locked.save()
        return locked


def template_status_apply(*, account, update: TemplateStatus) -> Template | None:
    """Keep a template's approval in sync with what the provider pushed."""
    status = update.status.lower()
    if status not in _STATUSES:
        return None
    with transaction.atomic():
        template = (
            Template.objects.select_for_update()
            .filter(account=account, name=update.name, language=update.language)
            .first()
        )
        if template is None and update.provider_template_id:
            template = Template.objects.select_for_update().filter(
                account=account, provider_template_id=update.provider_template_id
            ).first()
        if template is None:
            return None
        template.status = status
        template.rejection_reason = update.reason if status in ("rejected", "paused", "disabled") else ""
        if update.provider_template_id and not template.provider_template_id:
            template.provider_template_id = update.provider_template_id
        template.save()
        return template


def _apply_listed(template: Template, item: TemplateStatus) -> bool:
    changed = False
    wanted = {
        "status": item.status,
        "rejection_reason": item.reason if item.status in ("rejected", "paused", "disabled") else "",
    }
    if item.provider_template_id:
        wanted["provider_template_id"] = item.provider_template_id
    if item.category in Template.Category.values:
        wanted["category"] = item.category
    for name in ("header", "body", "footer", "buttons"):
        value = getattr(item, name)
        if value is not None:
            wanted[name] = value[:60] if name in ("header", "footer") else value
    for name, value in wanted.items():
        if getattr(template, name) != value:
            setattr(template, name, value)
            changed = True
    return changed


def template_sync(*, account: WhatsAppAccount, now: datetime | None = None) -> dict[str, int]:
    """Pull the provider's template list into this account's templates: ``{"created", "updated", "unchanged"}``.

    The HTTP calls happen before the transaction; templates the provider no longer lists are left
    as they are (an admin may still want to read them), and drafts never submitted are untouched.
    """
    if account.provider not in SYNCABLE_PROVIDERS:
        raise Conflict("sync_unsupported", f"{account.get_provider_display()} has no template list to sync from.")
    now = now or timezone.now()
    try:
        listed = account.backend().list_templates()
    except ProviderError as exc:
        TemplateSync.objects.update_or_create(account=account, defaults={"synced_at": now, "error": str(exc)[:2000]})
        raise Conflict("sync_failed", f"The provider's template list could not be read: {exc.message}") from exc
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    with transaction.atomic():
        existing = {(t.name, t.language): t for t in Template.objects.select_for_update().filter(account=account)}
        for item in listed:
            template = existing.get((item.name, item.language))
            if template is None:
                template = Template(account=account, name=item.name, language=item.language, body="")
                _apply_listed(template, item)
                template.synced_at = now
                template.save()
                existing[(item.name, item.language)] = template
                counts["created"] += 1
            elif _apply_listed(template, item):
                template.synced_at = now
                template.save()
                counts["updated"] += 1
            else:
                Template.objects.filter(pk=template.pk).update(synced_at=now)
                counts["unchanged"] += 1
        TemplateSync.objects.update_or_create(account=account, defaults={"synced_at": now, "error": ""})
    return counts


def templates_sync_due(*, now: datetime | None = None) -> int:
    """The sweep: ask for a sync of every account whose list is older than 15 minutes."""
    now = now or timezone.now()
    recent = TemplateSync.objects.filter(synced_at__gt=now - SYNC_EVERY).values_list("account_id", flat=True)
    due = list(
        WhatsAppAccount.objects.filter(is_active=True, provider__in=SYNCABLE_PROVIDERS)
        .exclude(pk__in=list(recent))
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        for account_id in due:
            # Marked now, so the next sweep does not ask again while this one waits for a runner.
            TemplateSync.objects.update_or_create(account_id=account_id, defaults={"synced_at": now})
            work.enqueue(SYNC_WORK, key=f"templates-sync:{account_id}", args={"account_id": account_id})
    return len(due)


def sync_work(args: dict) -> None:
    account = WhatsAppAccount.objects.filter(pk=args["account_id"], is_active=True).first()
    if account is None:
        return
    try:
        template_sync(account=account)
    except Conflict as exc:
        if exc.code == "sync_failed" and isinstance(exc.__cause__, ProviderError) and not exc.__cause__.permanent:
            raise exc.__cause__  # a passing outage: the runner retries with backoff
        log.warning("template sync of account %s: %s", account.pk, exc.detail)


# ----- submission -------------------------------------------------------------------------------
def template_submit(*, template: Template) -> Template:
    """Send a draft (or a rejected template, edited) for approval; it becomes ``pending`` (B3)."""
    account = template.account
    if account.provider not in SUBMITTABLE_PROVIDERS:
        raise Conflict(
            "submit_unsupported",
            f"Templates of {account.get_provider_display()} accounts are created in the provider's console, then synced.",
        )
    if template.status not in (Template.Status.DRAFT, Template.Status.REJECTED):
        raise Conflict("bad_state", f"Only a draft or a rejected template can be submitted; this one is {template.status}.")
    if len(template.examples or []) != template.param_count:
        raise Invalid(
            "examples_required",
            f"Give one example value per parameter ({template.param_count}): the provider reviews them.",
        )
    draft = TemplateDraft(
        name=template.name,
        language=template.language,
        category=template.category,
        body=template.body,
        header=template.header,
        footer=template.footer,
        buttons=list(template.buttons or []),
        examples=[str(v) for v in template.examples or []],
    )
    try:
        submitted = account.backend().submit_template(draft)
    except ProviderError as exc:
        code = f" ({exc.code})" if exc.code else ""
        raise Conflict("submit_failed", f"The provider refused the template{code}: {exc.message}") from exc
    with transaction.atomic():
        locked = Template.objects.select_for_update().get(pk=template.pk)
        locked.provider_template_id = submitted.provider_template_id
        locked.status = submitted.status if submitted.status in _STATUSES else Template.Status.PENDING
        locked.rejection_reason = ""
        locked.save()
        return locked


__all__ = [
    "SYNC_WORK",
    "contact_field_value",
    "params_mapping_check",
    "substitute",
    "sync_work",
    "template_approval_check",
    "template_create",
    "template_update",
    "template_params_check",
    "template_render",
    "template_render_for_contact",
    "template_sendable_check",
    "template_status_apply",
    "template_submit",
    "template_sync",
    "templates_sync_due",
]
