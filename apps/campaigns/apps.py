from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "apps.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.core import work
        from apps.interactions.services import delivery, inbound, outbound

        from . import services

        work.register(services.PREPARE_WORK, services.prepare_work, max_attempts=20)
        # The pump: each recipient counts its own provider attempts; the pump's attempts count only
        # its own crashes (a database away, say), and start afresh with every slice.
        work.register(services.SEND_WORK, services.send_work, max_attempts=50, lease_seconds=services.PUMP_LEASE_SECONDS)
        work.register_sweeper("campaigns", services.campaigns_sweep)
        delivery.on_status(services.recipient_status_apply)
        inbound.on_opened(services.recipient_reply_link)
        outbound.on_campaign_pending(services.campaign_pending_for)
