"""The deadline sweep: acts on every stored deadline that has passed (offers, transfers, windows).

Run by Celery beat with REDIS_URL and by the embedded worker otherwise, at least every 5 s and
once at start-up. The sweepers are registered by their apps (``apps.core.work.register_sweeper``);
each claims its rows with ``select_for_update(skip_locked=True)`` so two sweepers never act twice.
"""
from __future__ import annotations

from .work import sweep

__all__ = ["sweep"]
