from django.apps import AppConfig
from django.conf import settings


class InteractionsConfig(AppConfig):
    name = "apps.interactions"
    label = "interactions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core import work
        from apps.providers import services as provider_services
        from apps.providers.types import InboundMessage, StatusUpdate
        from apps.users import services as user_services

        from .services import common, delivery, inbound, routing, window

        work.register(
            delivery.SEND_WORK,
            delivery.send_work,
            max_attempts=settings.INSTANT_SEND_MAX_ATTEMPTS,
            on_failure=delivery.send_work_failed,
            on_retry=delivery.send_work_retry,
        )
        work.register(
            inbound.MEDIA_WORK,
            inbound.media_work,
            max_attempts=settings.INSTANT_MEDIA_MAX_ATTEMPTS,
            on_failure=inbound.media_work_failed,
            on_retry=inbound.media_work_retry,
        )
        work.register_sweeper("offers", routing.offers_expire)
        work.register_sweeper("windows", window.windows_expire)
        # After "offers": an offer that has just expired starts the re-offer pause (X2).
        work.register_sweeper("reoffer", routing.interactions_reoffer)
        common.on_close(routing.offer_next_after_close)
        provider_services.handle(InboundMessage, lambda account, item: inbound.inbound_message_receive(account=account, inbound=item))
        provider_services.handle_many(
            InboundMessage, lambda account, items: inbound.inbound_messages_receive(account=account, inbounds=items)
        )
        provider_services.handle(StatusUpdate, lambda account, item: delivery.message_status_apply(account=account, update=item))
        user_services.on_presence(routing.presence_changed)
