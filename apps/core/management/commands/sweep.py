"""Run the deadline sweep once (what Celery beat and the embedded worker do every few seconds)."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from apps.core.work import sweep


class Command(BaseCommand):
    help = "Act on every expired deadline (offers, transfers, 24-hour windows) once, and print what was done."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(sweep()))
