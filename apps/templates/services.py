"""Use cases of templates."""
from __future__ import annotations

from django.db import transaction

from apps.providers.types import TemplateStatus

from .models import Template

_STATUSES = {s.value for s in Template.Status}


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
