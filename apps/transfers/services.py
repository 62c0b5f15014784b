"""Use cases of transfers (D6)."""
from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .models import Transfer


def transfers_cancel_for(*, interaction, now: datetime | None = None) -> int:
    """Cancel the pending transfer of an interaction that is closing."""
    now = now or timezone.now()
    return Transfer.objects.filter(interaction=interaction, status=Transfer.Status.PENDING).update(
        status=Transfer.Status.CANCELLED, decided_at=now
    )


def transfers_expire(*, now: datetime | None = None) -> int:
    return 0
