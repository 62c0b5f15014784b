"""Celery tasks of interactions: thin, take ids, call one service, safe to run twice."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="interactions.download_media", ignore_result=True)
def download_media(message_id: int) -> None:
    from .services import message_media_store

    message_media_store(message_id=message_id)


@shared_task(name="interactions.deliver_message", ignore_result=True)
def deliver_message(message_id: int) -> None:
    from .services import message_deliver

    message_deliver(message_id=message_id)
