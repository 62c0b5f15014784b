from __future__ import annotations

from celery import shared_task


@shared_task(name="providers.process_webhook_event", ignore_result=True)
def process_webhook_event(event_id: int) -> None:
    from .services import webhook_event_process

    webhook_event_process(event_id=event_id)


# The Sandbox cloud's webhook tasks live with it; importing them here registers them with Celery.
from .sandbox_cloud import post_message_webhook, post_status_webhook  # noqa: E402,F401
