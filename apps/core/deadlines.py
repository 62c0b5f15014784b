"""The deadline sweep: acts on every stored deadline that has passed (offers, transfers, windows).

Run by Celery beat with REDIS_URL and by the embedded worker otherwise, at least every 5 s and
once at start-up. Each kind of deadline is claimed row by row with
``select_for_update(skip_locked=True)`` inside its service, so two sweepers never act twice.
"""
from __future__ import annotations

import logging

from django.utils import timezone

log = logging.getLogger(__name__)


def sweep(now=None) -> dict[str, int]:
    from apps.interactions.services import offers_expire, windows_expire
    from apps.transfers.services import transfers_expire

    now = now or timezone.now()
    done = {
        "offers": offers_expire(now=now),
        "transfers": transfers_expire(now=now),
        "windows": windows_expire(now=now),
    }
    if any(done.values()):
        log.info("deadline sweep: %s", done)
    return done
