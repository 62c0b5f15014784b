import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instant.settings")

app = Celery("instant")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def sweep_once_at_start(sender=None, **kwargs) -> None:
    """CONTRACT: the deadline sweep runs once right after start-up, then on the beat schedule."""
    app.send_task("apps.core.tasks.sweep_deadlines")
