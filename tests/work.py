"""Test helpers for deferred work."""
from __future__ import annotations


def run_later_work(hours: float = 1) -> int:
    """Run the work that waits for a retry (as if ``hours`` had passed), the way a test moves the clock."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.core import work

    return work.run_due(now=timezone.now() + timedelta(hours=hours))
